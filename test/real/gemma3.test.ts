// Gemma 3 270M (gemma3: sliding-window and global attention, 262k vocabulary), fetched by
// `npm run models`. The CLaSp patch does not handle this architecture (see the closing notes:
// its 168M-parameter output layer outweighs its 100M of decoder layers, so skipping layers cannot
// make a draft cheap), so layer-skip modes draft by prompt lookup, say why, and stay exact.
import assert from "node:assert/strict";
import { heldOutPrompts } from "../../bench/heldOutPrompts.ts";
import { Engine } from "../../src/engine/engine.ts";
import { requireCachedModel } from "../../src/models/pinnedModels.ts";

describe("Gemma 3 270M (real model)", function () {
    this.timeout(600_000);
    const engine = new Engine();
    after(() => engine.dispose());

    it("loads on the patched build with layer skip off and the reason given", async () => {
        const info = await engine.load({ modelPath: requireCachedModel("gemma3"), threads: 1, contextSize: 1024 });
        assert.equal(info.architecture, "gemma3");
        assert.equal(info.layers, 18);
        assert.equal(info.vocabularySize, 262_144);
        assert.equal(info.patchedBuild, true, "these tests run on the CLaSp-patched build");
        assert.equal(info.supportsLayerSkip, false);
        assert.match(info.layerSkipOff ?? "", /not supported for the "gemma3" architecture.*clasp and hybrid draft by prompt lookup instead/);
    });

    it("clasp and hybrid run as lookup and give plain greedy decoding's text", async () => {
        for (const cut of heldOutPrompts(4, 200)) {
            const request = { prefix: cut.prefix, suffix: cut.suffix, maxTokens: 24, maxLines: 50 };
            const plain = await engine.complete({ ...request, mode: "off" });
            for (const mode of ["clasp", "hybrid"] as const) {
                const result = await engine.complete({ ...request, mode });
                assert.equal(result.speculation?.mode, "lookup", `${mode} ran as ${result.speculation?.mode}`);
                assert.equal(result.text, plain.text, `${mode} differs from plain in ${cut.file}`);
            }
        }
    });
});
