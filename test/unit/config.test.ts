import assert from "node:assert/strict";
import { defaultCompletionConfig, readConfig, type SettingsReader } from "../../src/config.ts";
import { defaultSpeculationSettings } from "../../src/engine/protocol.ts";

function reader(values: Record<string, unknown>, globalModel?: string): SettingsReader {
    return {
        get: <T>(key: string) => values[key] as T | undefined,
        inspect: <T>(key: string) => (key === "model" ? { globalValue: globalModel as T | undefined } : undefined),
    };
}

describe("config", () => {
    it("gives the documented defaults for empty settings", () => {
        const config = readConfig(reader({}));
        assert.equal(config.model, "");
        assert.deepEqual(config.enable, { "*": true });
        assert.equal(config.paused, false);
        assert.equal(config.gpu, "auto");
        assert.deepEqual(config.speculation, defaultSpeculationSettings);
        assert.deepEqual(config.completion, defaultCompletionConfig);
    });

    it("clamps out-of-range numbers and rejects unknown enum values", () => {
        const config = readConfig(
            reader({
                "speculation.skipRatio": 0.95,
                "speculation.maxDraftTokens": -3,
                "speculation.mode": "turbo",
                gpu: "tpu",
                "completion.debounceMs": "fast",
            }),
        );
        assert.equal(config.speculation.skipRatio, 0.8);
        assert.equal(config.speculation.maxDraftTokens, 1);
        assert.equal(config.speculation.mode, "auto");
        assert.equal(config.gpu, "auto");
        assert.equal(config.completion.debounceMs, defaultCompletionConfig.debounceMs);
    });

    it("reads the model only from the user's own settings, never a workspace's", () => {
        const fromWorkspace = readConfig(reader({ model: "/etc/evil.gguf" }, undefined));
        assert.equal(fromWorkspace.model, "");
        assert.equal(readConfig(reader({}, " /models/a.gguf ")).model, "/models/a.gguf");
    });

    it("keeps only boolean entries of the language map", () => {
        assert.deepEqual(readConfig(reader({ enable: { "*": false, python: true, go: "yes" } })).enable, { "*": false, python: true });
        assert.deepEqual(readConfig(reader({ enable: ["python"] })).enable, { "*": true });
    });
});
