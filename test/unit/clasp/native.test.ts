// The layer-skip modes on the CLaSp-patched build. Without that build these tests fail with the
// build command in the message (they never skip): run `npm run build:native`.
import assert from "node:assert/strict";
import { defaultSpeculationSettings, type SpeculationMode, type SpeculationSettings } from "../../../src/engine/protocol.ts";
import { createSpeculativeDecoder } from "../../../src/engine/clasp/speculativeDecoder.ts";
import { skipSetOf } from "../../../src/engine/clasp/stats.ts";
import { fixturePresets } from "../../../src/fixtures/index.ts";
import { decodePlain, decodeWith, openNativeModel, testPrompts } from "./harness.ts";
import { assertAbortLeavesSequenceConsistent } from "./abortCheck.ts";
import { assertSamplesFollow } from "./samplingCheck.ts";

const promptCount = 50;
const maxTokens = 24;
const settings = (mode: SpeculationMode, extra: Partial<SpeculationSettings> = {}): SpeculationSettings =>
    ({ ...defaultSpeculationSettings, mode, updateInterval: 8, ...extra });

describe("layer-skip speculative decoding (CLaSp-patched build)", function () {
    this.timeout(600_000);

    for (const fixture of ["rand", "redundant"] as const) {
        for (const mode of ["clasp", "hybrid", "auto"] as const) {
            it(`${mode} on ${fixture} equals plain greedy decoding on ${promptCount} FIM and prefix-only prompts`, async () => {
                const open = await openNativeModel(fixture);
                try {
                    const decoder = createSpeculativeDecoder(settings(mode), { native: open.native });
                    let dpRuns = 0, drafted = 0;
                    for (const [i, prompt] of testPrompts(open.model, promptCount).entries()) {
                        const plain = await decodePlain(open.sequence, prompt, maxTokens);
                        const fast = await decodeWith(decoder, open.sequence, prompt, { maxTokens });
                        assert.deepEqual(fast.tokens, plain.tokens, `prompt ${i} (${prompt.kind}) differs`);
                        assert.equal(fast.outcome.end, plain.outcome.end, `prompt ${i} ends differently`);
                        dpRuns += fast.outcome.speculation?.dpRuns ?? 0;
                        drafted += fast.outcome.speculation?.draftedTokens ?? 0;
                    }
                    if (mode !== "auto") assert.ok(dpRuns > 0 && drafted > 0, `no DP (${dpRuns}) or no drafts (${drafted}): nothing was verified`);
                } finally {
                    await open.dispose();
                }
            });
        }
    }

    it("a static skip set (never re-selected) is lossless too", async () => {
        const open = await openNativeModel("rand");
        try {
            const decoder = createSpeculativeDecoder(settings("clasp"), { native: open.native, staticMask: Uint8Array.from([0, 1, 1, 0]) });
            let drafted = 0;
            for (const [i, prompt] of testPrompts(open.model, 10, 3).entries()) {
                const plain = await decodePlain(open.sequence, prompt, maxTokens);
                const fast = await decodeWith(decoder, open.sequence, prompt, { maxTokens });
                assert.deepEqual(fast.tokens, plain.tokens, `prompt ${i} differs`);
                assert.equal(fast.outcome.speculation?.dpRuns, 0);
                assert.deepEqual(fast.outcome.speculation?.skipSet, [1, 2], "the static skip set was not the one drafted with");
                drafted += fast.outcome.speculation?.draftedTokens ?? 0;
            }
            // lossless without a single verified draft would prove nothing about the static mask
            assert.ok(drafted > 0, "the static skip set never drafted");
        } finally {
            await open.dispose();
        }
    });

    it("the DP finds exactly the identity layers of `redundant`, and their drafts are accepted >= 99 %", async () => {
        const identityLayers = fixturePresets.redundant.identityLayers ?? [];
        const layers = fixturePresets.redundant.layers ?? 0;
        assert.ok(identityLayers.length > 0 && layers > identityLayers.length, "the redundant preset lost its identity layers");
        const open = await openNativeModel("redundant");
        try {
            const skipRatio = identityLayers.length / layers;
            const decoder = createSpeculativeDecoder(settings("clasp", { skipRatio, minConfidence: 0 }), { native: open.native });
            let drafted = 0, accepted = 0;
            for (const prompt of testPrompts(open.model, 12, 5)) {
                const { outcome } = await decodeWith(decoder, open.sequence, prompt, { maxTokens: 32 });
                drafted += outcome.speculation!.draftedTokens;
                accepted += outcome.speculation!.acceptedTokens;
                assert.deepEqual(skipSetOf(decoder.skipMask), [...identityLayers]);
            }
            assert.ok(drafted > 100, `only ${drafted} draft tokens`);
            assert.ok(accepted / drafted >= 0.99, `acceptance ${(100 * accepted / drafted).toFixed(1)} %`);
        } finally {
            await open.dispose();
        }
    });

    // With a confidence threshold the draft drops unlikely samples, which changes the draft distribution.
    for (const [mode, minConfidence] of [["clasp", 0], ["clasp", 0.2], ["hybrid", 0.2]] as const) {
        it(`speculative sampling in ${mode} mode keeps the model's distribution (tiny vocabulary, min confidence ${minConfidence})`, async () => {
            const open = await openNativeModel("tiny-vocab");
            try {
                const decoder = createSpeculativeDecoder(settings(mode, { minConfidence }), { native: open.native });
                await assertSamplesFollow(open, decoder, { draws: 3000, temperature: 1.5 });
            } finally {
                await open.dispose();
            }
        });
    }

    for (const mode of ["clasp", "hybrid"] as const) {
        it(`${mode}: an abort mid-round leaves the sequence consistent for later requests`, async () => {
            const open = await openNativeModel("redundant");
            try {
                await assertAbortLeavesSequenceConsistent(open, createSpeculativeDecoder(settings(mode), { native: open.native }));
            } finally {
                await open.dispose();
            }
        });
    }
});
