import assert from "node:assert/strict";
import { defaultCompletionConfig, gpuChoices, readConfig, speculationModes, type SettingsReader } from "../../src/config.ts";
import { defaultSpeculationSettings } from "../../src/engine/protocol.ts";
import manifest from "../../package.json" with { type: "json" };

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

// The manifest is what users see in the Settings editor; readConfig is what the extension obeys.
// Every numeric setting's default and bounds, and every enum, must be the same in both.
describe("config against the manifest (package.json)", () => {
    type Property = { type: string; default?: unknown; minimum?: number; maximum?: number; enum?: string[] };
    const properties = Object.entries(manifest.contributes.configuration.properties as Record<string, Property>)
        .map(([key, property]) => ({ key: key.replace(/^clasp\./, ""), property }));
    const valueAt = (config: unknown, key: string): unknown =>
        key.split(".").reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], config);

    it("reads every numeric setting with the manifest's default, minimum and maximum", () => {
        const numeric = properties.filter(({ property }) => property.type === "number");
        assert.ok(numeric.some(({ key }) => key === "engine.idleExitMinutes"), "the manifest lacks clasp.engine.idleExitMinutes");
        for (const { key, property } of numeric) {
            assert.equal(valueAt(readConfig(reader({})), key), property.default, `${key}: default`);
            assert.equal(typeof property.minimum, "number", `${key} has no minimum in the manifest`);
            assert.equal(typeof property.maximum, "number", `${key} has no maximum in the manifest`);
            assert.equal(valueAt(readConfig(reader({ [key]: property.minimum! - 1e6 })), key), property.minimum, `${key}: minimum`);
            assert.equal(valueAt(readConfig(reader({ [key]: property.maximum! + 1e6 })), key), property.maximum, `${key}: maximum`);
        }
    });

    it("reads every boolean setting with the manifest's default, and the other value when set", () => {
        const booleans = properties.filter(({ property }) => property.type === "boolean");
        assert.ok(booleans.some(({ key }) => key === "completion.warmWhileTyping"), "the manifest lacks clasp.completion.warmWhileTyping");
        for (const { key, property } of booleans) {
            assert.equal(typeof property.default, "boolean", `${key} has no boolean default in the manifest`);
            assert.equal(valueAt(readConfig(reader({})), key), property.default, `${key}: default`);
            assert.equal(valueAt(readConfig(reader({ [key]: !property.default })), key), !property.default, `${key}: set`);
        }
    });

    it("offers exactly the speculation modes and GPU choices the engine knows", () => {
        const enumOf = (key: string) => properties.find((entry) => entry.key === key)?.property.enum;
        assert.deepEqual(enumOf("speculation.mode"), [...speculationModes]);
        assert.deepEqual(enumOf("gpu"), [...gpuChoices]);
    });
});
