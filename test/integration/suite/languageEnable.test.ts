import * as assert from "node:assert/strict";
import * as vscode from "vscode";
import { activateAndWaitForReady, closeAllEditors, openEditorAtEnd, triggerAndAccept } from "./helpers.ts";

/** Seconds a disabled language gets to show a suggestion it must not show. */
const NONE_WITHIN_MS = 5_000;

async function setEnableMap(map: Record<string, boolean> | undefined): Promise<void> {
    await vscode.workspace.getConfiguration("clasp").update("enable", map, vscode.ConfigurationTarget.Global);
}

describe("per-language enable map (clasp.enable)", () => {
    before(activateAndWaitForReady);
    afterEach(closeAllEditors);
    after(() => setEnableMap(undefined));

    it("turns one language off while \"*\" keeps the others on", async () => {
        await setEnableMap({ "*": true, markdown: false });
        const markdown = await openEditorAtEnd("# Notes\n\nThe total is ", "md");
        assert.equal(await triggerAndAccept(markdown, NONE_WITHIN_MS), "", "markdown got a completion although it is off");
        await closeAllEditors();
        const typescript = await openEditorAtEnd("const total = ");
        assert.notEqual(await triggerAndAccept(typescript), "", "typescript, covered by \"*\": true, got no completion");
    });

    it("treats \"*\": false as off for every language without its own entry", async () => {
        await setEnableMap({ "*": false, markdown: true });
        const typescript = await openEditorAtEnd("const total = ");
        assert.equal(await triggerAndAccept(typescript, NONE_WITHIN_MS), "", "typescript got a completion although \"*\" is false");
        await closeAllEditors();
        const markdown = await openEditorAtEnd("# Notes\n\nThe total is ", "md");
        assert.notEqual(await triggerAndAccept(markdown), "", "markdown, switched on explicitly, got no completion");
    });
});
