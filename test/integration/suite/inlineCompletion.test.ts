import * as assert from "node:assert/strict";
import { activateAndWaitForReady, closeAllEditors, debugState, openEditorAtEnd, triggerAndAccept } from "./helpers.ts";

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

    it("shows a suggestion on the manual trigger command clasp.triggerSuggestion", async () => {
        const editor = await openEditorAtEnd("const greeting = ");
        const inserted = await triggerAndAccept(editor, 30_000, "clasp.triggerSuggestion");
        assert.notEqual(inserted, "", "clasp.triggerSuggestion showed nothing to accept within 30 s");
    });
});
