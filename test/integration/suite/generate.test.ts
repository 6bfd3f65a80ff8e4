import * as assert from "node:assert/strict";
import * as vscode from "vscode";
import { activateAndWaitForReady, closeAllEditors, openEditorAtEnd, waitFor, within } from "./helpers.ts";

describe("CLaSp: Generate", () => {
    before(activateAndWaitForReady);
    afterEach(closeAllEditors);

    it("inserts generated text at the cursor as one undo step", async () => {
        const original = "// sum of a list\nfunction sum(values: number[]) {\n";
        const editor = await openEditorAtEnd(original);
        // The instruction argument skips the input box. Not awaited: a build that ignores the
        // argument waits on the input box forever, and the test must fail, not hang.
        const finished = vscode.commands.executeCommand("clasp.generate", { instruction: "write the body of sum" });
        try {
            await waitFor("generated text in the document", async () => (editor.document.getText() !== original ? true : undefined), 60_000);
            await within("clasp.generate", finished, 60_000);
        } finally {
            await vscode.commands.executeCommand("workbench.action.closeQuickOpen");
        }
        const generated = editor.document.getText();
        assert.ok(generated.startsWith(original), `text before the cursor was changed: ${JSON.stringify(generated)}`);
        assert.ok(generated.length > original.length, "nothing was inserted");

        await vscode.window.showTextDocument(editor.document);
        await vscode.commands.executeCommand("undo");
        assert.equal(editor.document.getText(), original, "one undo did not remove the whole generation");
    });
});
