import * as assert from "node:assert/strict";
import * as vscode from "vscode";
import { activateAndWaitForReady, closeAllEditors, openEditorAtEnd, triggerAndAccept } from "./helpers.ts";

describe("pause", () => {
    before(activateAndWaitForReady);
    afterEach(closeAllEditors);

    it("stops completions while paused and brings them back on resume", async () => {
        await vscode.commands.executeCommand("clasp.togglePause");
        try {
            const paused = await openEditorAtEnd("let total = ");
            assert.equal(await triggerAndAccept(paused, 5_000), "", "a completion was accepted while paused");
            await closeAllEditors();
        } finally {
            await vscode.commands.executeCommand("clasp.togglePause");
        }
        const resumed = await openEditorAtEnd("let total = ");
        assert.notEqual(await triggerAndAccept(resumed), "", "no completion after resuming");
    });

    it("still answers the manual clasp.triggerSuggestion while paused", async () => {
        await vscode.commands.executeCommand("clasp.togglePause");
        try {
            const editor = await openEditorAtEnd("let total = ");
            const inserted = await triggerAndAccept(editor, 30_000, "clasp.triggerSuggestion");
            assert.notEqual(inserted, "", "the manual trigger showed nothing while paused");
        } finally {
            await vscode.commands.executeCommand("clasp.togglePause");
        }
    });
});
