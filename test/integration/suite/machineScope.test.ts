import * as assert from "node:assert/strict";
import * as vscode from "vscode";
import { activateExtension, EXTENSION_ID, waitForEngineState } from "./helpers.ts";

// The driver writes a workspace .vscode/settings.json whose clasp.model points at a file that
// does not exist; the machine settings name the fixture model (CLASP_IT_MODEL).
describe("clasp.model is machine-scoped", () => {
    before(activateExtension);

    it("is declared with machine scope in the manifest", () => {
        const properties = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON.contributes?.configuration;
        const sections = Array.isArray(properties) ? properties : [properties];
        const model = sections.map((section) => section?.properties?.["clasp.model"]).find(Boolean);
        assert.ok(model, "the manifest does not contribute clasp.model");
        assert.equal(model.scope, "machine");
    });

    it("ignores a workspace setting that points the engine at another file", async () => {
        const expected = process.env.CLASP_IT_MODEL;
        assert.ok(expected, "CLASP_IT_MODEL is not set by the test driver");
        const workspaceSetting = vscode.workspace.getConfiguration("clasp").inspect<string>("model");
        assert.notEqual(workspaceSetting?.workspaceValue, process.env.CLASP_IT_WORKSPACE_MODEL,
            "the workspace value of a machine-scoped setting was applied");
        assert.equal(vscode.workspace.getConfiguration("clasp").get("model"), expected);
        const state = await waitForEngineState("ready");
        assert.equal(state.engineState, "ready");
    });
});
