// The engine's plug: one decoder per sequence kept across requests (its rolling stats count them
// all), and a clear error for the layer-skip modes on the stock binary.
import assert from "node:assert/strict";
import { createClaspDecoderFactory } from "../../../src/engine/clasp/decoderFactory.ts";
import { defaultSpeculationSettings, type SpeculationStats } from "../../../src/engine/protocol.ts";
import { decodePlain, decodeWith, openModel, testPrompts, stockLlama } from "./harness.ts";

describe("CLaSp decoder factory on the stock binary", function () {
    this.timeout(120_000);

    it("serves lookup and auto, streams stats, and refuses clasp/hybrid with the build command", async () => {
        const open = await openModel(await stockLlama(), "rand");
        try {
            const stats: SpeculationStats[] = [];
            const factory = createClaspDecoderFactory();
            const prompts = testPrompts(open.model, 4, 9);
            for (const [i, prompt] of prompts.entries()) {
                const mode = i % 2 === 0 ? "lookup" : "auto";
                const decoder = factory(open, { ...defaultSpeculationSettings, mode });
                const plain = await decodePlain(open.sequence, prompt, 16);
                assert.deepEqual((await decodeWith(decoder, open.sequence, prompt, { maxTokens: 16 })).tokens, plain.tokens);
                stats.push(decoder.stats());
            }
            assert.equal(stats.length, prompts.length);
            // one decoder per sequence: the rolling stats count every request
            assert.deepEqual(stats.map((s) => s.requests), [1, 2, 3, 4]);
            assert.equal(stats.at(-1)!.mode, "auto");
            assert.ok(stats.at(-1)!.tokensPerSecond > 0);
            // the decoder timed plain decoding itself (calibration), so the speedup is measured, not assumed
            assert.ok(stats.at(-1)!.plainTokensPerSecond! > 0);
            assert.ok(stats.at(-1)!.measuredSpeedup! > 0);
            for (const mode of ["clasp", "hybrid"] as const)
                assert.throws(() => factory(open, { ...defaultSpeculationSettings, mode }), /npm run build:native/);
            // a refused configuration changes nothing: the next request still runs in the last good mode
            const decoder = factory(open, { ...defaultSpeculationSettings, mode: "lookup" });
            await decodeWith(decoder, open.sequence, prompts[0]!, { maxTokens: 4 });
            assert.equal(decoder.stats().mode, "lookup");
        } finally {
            await open.dispose();
        }
    });

    it("rejects bad settings with a clear message", async () => {
        const open = await openModel(await stockLlama(), "rand");
        try {
            const factory = createClaspDecoderFactory();
            assert.throws(() => factory(open, { ...defaultSpeculationSettings, mode: "fast" as never }), /unknown speculation mode "fast"/);
            assert.throws(() => factory(open, { ...defaultSpeculationSettings, maxDraftTokens: 0 }), /maxDraftTokens/);
            // 64 drafts make a 65-row verify, past the rows that run the one-token kernels
            assert.throws(() => factory(open, { ...defaultSpeculationSettings, maxDraftTokens: 64 }), /maxDraftTokens must be an integer within 1\.\.63/);
            assert.doesNotThrow(() => factory(open, { ...defaultSpeculationSettings, maxDraftTokens: 63 }));
            assert.throws(() => factory(open, { ...defaultSpeculationSettings, skipRatio: 2 }), /skipRatio/);
        } finally {
            await open.dispose();
        }
    });
});
