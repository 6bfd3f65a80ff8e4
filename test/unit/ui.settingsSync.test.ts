import assert from "node:assert/strict";
import { readConfig } from "../../src/config.ts";
import { isWriteNeeded, panelValues, settingWriteFor, writeTargetFor } from "../../src/ui/settingsSync.ts";

const config = (values: Record<string, unknown> = {}) => readConfig({ get: <T>(key: string) => values[key] as T | undefined });

describe("settings panel sync", () => {
    it("shows the current speculation settings in the panel", () => {
        assert.deepEqual(panelValues(config({ "speculation.skipRatio": 0.35, "speculation.mode": "clasp" })), {
            mode: "clasp",
            skipRatio: 0.35,
            maxDraftTokens: 8,
            minConfidence: 0.7,
            updateInterval: 32,
        });
    });

    it("turns a slider move into a clamped, step-snapped setting write", () => {
        assert.deepEqual(settingWriteFor({ type: "change", key: "skipRatio", value: 0.30000000000000004 }), { key: "speculation.skipRatio", value: 0.3 });
        assert.deepEqual(settingWriteFor({ type: "change", key: "skipRatio", value: 0.97 }), { key: "speculation.skipRatio", value: 0.8 });
        assert.deepEqual(settingWriteFor({ type: "change", key: "maxDraftTokens", value: "12" }), { key: "speculation.maxDraftTokens", value: 12 });
        assert.deepEqual(settingWriteFor({ type: "change", key: "mode", value: "lookup" }), { key: "speculation.mode", value: "lookup" });
    });

    it("refuses malformed or unknown messages from the webview", () => {
        for (const message of [
            null,
            "change",
            { type: "eval", key: "skipRatio", value: 0.1 },
            { type: "change", key: "model", value: "/etc/passwd" },
            { type: "change", key: "mode", value: "warp" },
            { type: "change", key: "skipRatio", value: Number.NaN },
            { type: "change", key: "skipRatio", value: "abc" },
        ])
            assert.ok("error" in settingWriteFor(message), `accepted ${JSON.stringify(message)}`);
    });

    it("does not write back a value the settings already hold (no echo loop)", () => {
        const current = config({ "speculation.skipRatio": 0.4 });
        assert.equal(isWriteNeeded(current, { key: "speculation.skipRatio", value: 0.4 }), false);
        assert.equal(isWriteNeeded(current, { key: "speculation.skipRatio", value: 0.45 }), true);
        assert.equal(isWriteNeeded(current, { key: "speculation.mode", value: "auto" }), false);
    });

    it("writes where the value is already set, else to the user's settings", () => {
        assert.equal(writeTargetFor(undefined), "global");
        assert.equal(writeTargetFor({}), "global");
        assert.equal(writeTargetFor({ workspaceValue: 0.2 }), "workspace");
        assert.equal(writeTargetFor({ workspaceValue: 0.2, workspaceFolderValue: 0.1 }), "workspaceFolder");
    });
});
