import assert from "node:assert/strict";
import { defaultModelPreset, interpretModelSetting, isModelUri, modelPresets } from "../../src/ui/modelPresets.ts";

describe("model setting", () => {
    it("maps an empty setting to the default model", () => {
        assert.deepEqual(interpretModelSetting("  ", "/home/u"), { kind: "default", uri: defaultModelPreset.uri });
    });

    it("tells URIs from paths and expands ~", () => {
        assert.deepEqual(interpretModelSetting("hf:a/b/c.gguf", "/home/u"), { kind: "uri", uri: "hf:a/b/c.gguf" });
        assert.deepEqual(interpretModelSetting("https://x/m.gguf", "/home/u"), { kind: "uri", uri: "https://x/m.gguf" });
        assert.deepEqual(interpretModelSetting("~/models/m.gguf", "/home/u"), { kind: "path", path: "/home/u/models/m.gguf" });
        assert.deepEqual(interpretModelSetting("/opt/m.gguf", "/home/u"), { kind: "path", path: "/opt/m.gguf" });
    });

    it("offers only downloadable GGUF presets", () => {
        assert.ok(modelPresets.length >= 3);
        for (const preset of modelPresets) {
            assert.ok(isModelUri(preset.uri), preset.uri);
            assert.match(preset.uri, /\.gguf$/);
        }
    });
});
