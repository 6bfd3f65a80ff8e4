import * as assert from "node:assert/strict";
import * as vscode from "vscode";
import { activateExtension, debugState, waitFor } from "./helpers.ts";

describe("settings panel", () => {
    before(activateExtension);

    it("opens with clasp.openSettings", async () => {
        await vscode.commands.executeCommand("clasp.openSettings");
        const state = await waitFor("settingsPanelOpen", async () => ((await debugState()).settingsPanelOpen ? true : undefined), 15_000);
        assert.equal(state, true);
        await vscode.commands.executeCommand("workbench.action.closeActiveEditor");
    });
});
