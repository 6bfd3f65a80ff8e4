import * as assert from "node:assert/strict";
import * as vscode from "vscode";
import { activateAndWaitForReady, closeAllEditors, debugState, delay, openEditorAtEnd, triggerAndAccept, waitFor } from "./helpers.ts";

describe("inline completion", () => {
    before(activateAndWaitForReady);
    afterEach(closeAllEditors);

    it("offers ghost text from the engine that Tab-accept inserts at the cursor", async () => {
        const prefix = "function add(a: number, b: number) {\n    return ";
        const editor = await openEditorAtEnd(prefix);
        const inserted = await triggerAndAccept(editor);
        assert.notEqual(inserted, "", "no inline completion was accepted within 30 s");
        const text = editor.document.getText();
        assert.ok(text.startsWith(prefix), `the text before the cursor changed: ${JSON.stringify(text)}`);

        const state = await debugState();
        assert.ok(state.lastCompletion, "clasp.debug.state has no lastCompletion after a completion was shown");
        assert.ok(
            state.lastCompletion.text.startsWith(inserted) || inserted.startsWith(state.lastCompletion.text),
            `accepted ${JSON.stringify(inserted)} does not match the engine's ${JSON.stringify(state.lastCompletion.text)}`,
        );
        assert.notEqual(state.lastCompletion.stopReason, "", "lastCompletion has no stop reason");
    });

    it("warms the engine's cache as the user types, at the cursor each keystroke leaves", async () => {
        const editor = await openEditorAtEnd("const values = [1, 2, 3];\nconst count");
        const start = editor.selection.active;
        const typed = " = values.length";
        // about 25 keys a second, as a quick typist: a suggestion request (after a pause) aborts a warm-up
        for (const text of typed) {
            await vscode.commands.executeCommand("type", { text });
            await delay(40);
        }
        assert.equal(editor.selection.active.character, start.character + typed.length);
        // lastWarm is a prompt the engine reported prefilled. The one after the last keystroke may be
        // aborted for the suggestion request there; one after an earlier keystroke, on this line past
        // where typing began, shows the edits reached the engine as prefill-only requests.
        const warm = await waitFor("a warm-up the engine prefilled at a position the typing made", async () => {
            const last = (await debugState()).lastWarm;
            return last && last.line === start.line && last.character > start.character ? last : undefined;
        }, 15_000);
        assert.ok(warm.character <= start.character + typed.length, `warmed at ${warm.character}, past the end of the line`);
        assert.equal(warm.filePath, editor.document.uri.fsPath);
    });

    it("shows a suggestion on the manual trigger command clasp.triggerSuggestion", async () => {
        const editor = await openEditorAtEnd("const greeting = ");
        const inserted = await triggerAndAccept(editor, 30_000, "clasp.triggerSuggestion");
        assert.notEqual(inserted, "", "clasp.triggerSuggestion showed nothing to accept within 30 s");
    });
});
