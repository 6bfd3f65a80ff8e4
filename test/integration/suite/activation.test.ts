import * as assert from "node:assert/strict";
import * as vscode from "vscode";
import { activateExtension, debugState, EXTENSION_ID } from "./helpers.ts";

const PUBLIC_COMMANDS = [
    "clasp.generate",
    "clasp.openSettings",
    "clasp.showMenu",
    "clasp.togglePause",
    "clasp.triggerSuggestion",
    "clasp.debug.state",
];

describe("activation", () => {
    it("runs inside a real VS Code extension host", () => {
        assert.match(vscode.version, /^1\.\d+\.\d+/);
        assert.ok(vscode.extensions.getExtension(EXTENSION_ID), `${EXTENSION_ID} is loaded`);
    });

    it("activates and registers every public command", async () => {
        await activateExtension();
        assert.equal(vscode.extensions.getExtension(EXTENSION_ID)!.isActive, true);
        const registered = new Set(await vscode.commands.getCommands(true));
        const missing = PUBLIC_COMMANDS.filter((command) => !registered.has(command));
        assert.deepEqual(missing, [], `commands not registered: ${missing.join(", ")}`);
    });

    it("reports its state through clasp.debug.state", async () => {
        const state = await debugState();
        assert.equal(typeof state.engineState, "string");
        assert.equal(typeof state.statusBarText, "string");
        assert.equal(typeof state.settingsPanelOpen, "boolean");
    });
});
