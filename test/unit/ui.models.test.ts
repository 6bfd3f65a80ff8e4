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

    it("offers a LLaMA-3-family preset, labelled as prefix-only", () => {
        const llama3 = modelPresets.find((preset) => /Llama 3/.test(preset.label));
        assert.ok(llama3, "no LLaMA-3 preset");
        assert.match(llama3.detail, /LLaMA-3 architecture, 16 layers · no FIM tokens: prefix-only/);
        assert.notEqual(llama3, defaultModelPreset, "the default must be a FIM code model");
    });

    it("offers only downloadable GGUF presets", () => {
        assert.ok(modelPresets.length >= 3);
        for (const preset of modelPresets) {
            assert.ok(isModelUri(preset.uri), preset.uri);
            assert.match(preset.uri, /\.gguf$/);
        }
    });
});
