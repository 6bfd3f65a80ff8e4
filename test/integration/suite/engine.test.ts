import * as assert from "node:assert/strict";
import { activateExtension, waitForEngineState } from "./helpers.ts";

describe("engine", () => {
    before(activateExtension);

    it("reaches ready with the fixture model from the machine settings", async () => {
        const state = await waitForEngineState("ready");
        assert.equal(state.engineState, "ready");
    });

    it("shows a non-empty status bar text once ready", async () => {
        const state = await waitForEngineState("ready");
        assert.notEqual(state.statusBarText.trim(), "", "status bar text is empty");
    });
});
