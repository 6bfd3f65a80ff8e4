import * as assert from "node:assert/strict";
import * as vscode from "vscode";
import { activateAndWaitForReady, closeAllEditors, openEditorAtEnd, waitFor } from "./helpers.ts";

describe("CLaSp: Generate", () => {
    before(activateAndWaitForReady);
    afterEach(closeAllEditors);

    it("inserts generated text at the cursor as one undo step", async () => {
        const original = "// sum of a list\nfunction sum(values: number[]) {\n";
        const editor = await openEditorAtEnd(original);
        // The instruction argument skips the input box, so no UI has to be driven.
        await vscode.commands.executeCommand("clasp.generate", { instruction: "write the body of sum" });
        const generated = await waitFor("generated text in the document", async () =>
            editor.document.getText() !== original ? editor.document.getText() : undefined, 60_000);
        assert.ok(generated.startsWith(original), "text before the cursor was changed");
        assert.ok(generated.length > original.length, "nothing was inserted");

        await vscode.window.showTextDocument(editor.document);
        await vscode.commands.executeCommand("undo");
        assert.equal(editor.document.getText(), original, "one undo did not remove the whole generation");
    });
});
