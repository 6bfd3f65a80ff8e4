// CLaSp on a real, trained model: SmolLM2-135M (LLaMA architecture, 30 layers, no FIM tokens),
// fetched by `npm run models`, on the CLaSp-patched build. Prompts are held out: cuts of zod's
// TypeScript sources, laid out by the engine's own prompt layout (prefix-only for this model).
import assert from "node:assert/strict";
import type { LlamaContext, LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";
import { heldOutPrompts } from "../../bench/heldOutPrompts.ts";
import { createSpeculativeDecoder } from "../../src/engine/clasp/speculativeDecoder.ts";
import { prefill } from "../../src/engine/decoding.ts";
import { createClaspNative, type ClaspNative } from "../../src/engine/native/index.ts";
import { buildPrompt } from "../../src/engine/promptLayout.ts";
import { defaultSpeculationSettings, type SpeculationMode, type SpeculationSettings } from "../../src/engine/protocol.ts";
import { mulberry32 } from "../../src/fixtures/index.ts";
import { requireCachedModel } from "../../src/models/pinnedModels.ts";
import { decodePlain, decodeWith, patchedLlama, type TestPrompt } from "../unit/clasp/harness.ts";
import { assertSamplesFollow } from "../unit/clasp/samplingCheck.ts";

const promptBudget = 256;
const settings = (mode: SpeculationMode, extra: Partial<SpeculationSettings> = {}): SpeculationSettings =>
    ({ ...defaultSpeculationSettings, mode, ...extra });

interface Open {
    model: LlamaModel;
    context: LlamaContext;
    sequence: LlamaContextSequence;
    native: ClaspNative;
}

/** Held-out prompts as the engine lays them out for this model (its prompt tokens and lookup source). */
function prompts(model: LlamaModel, count: number, first: number): TestPrompt[] {
    return heldOutPrompts(count, first).map((cut) => {
        const prompt = buildPrompt(model, { prefix: cut.prefix, suffix: cut.suffix }, { maxTokens: promptBudget });
        assert.equal(prompt.usedFim, false, "SmolLM2 has no FIM tokens");
        return { kind: "prefix", tokens: prompt.tokens, lookupSource: prompt.lookupSource };
    });
}

describe("SmolLM2-135M (real model, CLaSp-patched build)", function () {
    this.timeout(900_000);
    let open: Open;
    before(async () => {
        const llama = await patchedLlama();
        const model = await llama.loadModel({ modelPath: requireCachedModel("smollm2") });
        const context = await model.createContext({ contextSize: 1024, sequences: 1, threads: 1 });
        const sequence = context.getSequence();
        open = { model, context, sequence, native: createClaspNative(context, sequence) };
        assert.equal(open.native.info.nLayer, 30);
    });
    after(async () => {
        await open?.context.dispose();
        await open?.model.dispose();
    });

    it("every speculation mode is token-identical to plain greedy decoding on 24 held-out prompts, with drafts verified", async () => {
        const modes = ["clasp", "lookup", "hybrid", "auto"] as const;
        const decoders = Object.fromEntries(modes.map((mode) => [mode, createSpeculativeDecoder(settings(mode), { native: open.native })]));
        // A static skip set (the Self-SD-like baseline of the benchmark) goes through the same loop.
        const staticMask = Uint8Array.from({ length: 30 }, (_, layer) => (layer % 4 === 1 ? 1 : 0));
        const staticDecoder = createSpeculativeDecoder(settings("clasp"), { native: open.native, staticMask });
        const drafted: Record<string, number> = {};
        for (const [i, prompt] of prompts(open.model, 24, 0).entries()) {
            const plain = await decodePlain(open.sequence, prompt, 24);
            assert.ok(plain.tokens.length > 0, `prompt ${i}: plain decoding produced nothing`);
            for (const [mode, decoder] of [...Object.entries(decoders), ["static", staticDecoder] as const]) {
                const fast = await decodeWith(decoder, open.sequence, prompt, { maxTokens: 24 });
                assert.deepEqual(fast.tokens, plain.tokens, `${mode}, prompt ${i}: differs from plain greedy decoding`);
                assert.equal(fast.outcome.end, plain.outcome.end, `${mode}, prompt ${i}: ends differently`);
                drafted[mode] = (drafted[mode] ?? 0) + (fast.outcome.speculation?.draftedTokens ?? 0);
            }
        }
        for (const mode of [...modes, "static"]) assert.ok((drafted[mode] ?? 0) > 0, `${mode} never drafted: nothing was verified (${JSON.stringify(drafted)})`);
    });

    // An in-context skip set exists only once the prompt's last token is evaluated, which yields the
    // first token, so two tokens would never see a layer-skip draft: the DP's set for this prompt,
    // chosen once beforehand, drafts from the first round (as in the fixtures' sampling tests).
    for (const mode of ["clasp", "hybrid"] as const) {
        it(`${mode} at temperature 0.8 keeps the model's distribution of the first two tokens (fixed-seed chi-square)`, async () => {
            const prompt = open.model.tokenize("The capital of France is", false);
            const { pos, hidden } = await captureLastPromptToken(open, prompt);
            const { mask } = await open.native.optimize(pos, hidden, 6);
            const decoder = createSpeculativeDecoder(settings(mode, { minConfidence: 0, skipRatio: 0.2 }), { native: open.native, staticMask: mask });
            await assertSamplesFollow(open, decoder, { draws: 800, temperature: 0.8, prompt });
        });
    }

    it("the DP's skip set beats random skip sets of the same size on its objective (cosine) and on measured acceptance", async () => {
        const numSkip = 8;
        const random = mulberry32(2024);
        const randomMask = () => {
            const layers = Array.from({ length: 30 }, (_, i) => i).sort(() => random() - 0.5).slice(0, numSkip);
            return Uint8Array.from({ length: 30 }, (_, i) => (layers.includes(i) ? 1 : 0));
        };
        let dpCosine = 0, randomCosine = 0;
        const accepted = { dp: 0, random: 0 }, draftedTotal = { dp: 0, random: 0 };
        const cases = prompts(open.model, 12, 100);
        for (const prompt of cases) {
            const { pos, hidden } = await captureLastPromptToken(open, prompt.tokens);
            const dp = await open.native.optimize(pos, hidden, numSkip);
            assert.equal(dp.mask.reduce((a, b) => a + b, 0), numSkip);
            // The same objective, recomputed for the DP's set and for a random set of the same size.
            const ownCosine = await chainCosine(open.native, pos, hidden, dp.mask);
            assert.ok(Math.abs(ownCosine - dp.cosine) < 1e-3, `the DP reports cosine ${dp.cosine}, its set evaluates to ${ownCosine}`);
            const other = randomMask();
            dpCosine += ownCosine;
            randomCosine += await chainCosine(open.native, pos, hidden, other);

            for (const [kind, mask] of [["dp", dp.mask], ["random", other]] as const) {
                const decoder = createSpeculativeDecoder(settings("clasp", { minConfidence: 0, maxDraftTokens: 4 }), { native: open.native, staticMask: mask });
                const { outcome } = await decodeWith(decoder, open.sequence, prompt, { maxTokens: 24 });
                accepted[kind] += outcome.speculation!.acceptedTokens;
                draftedTotal[kind] += outcome.speculation!.draftedTokens;
            }
        }
        const alpha = { dp: accepted.dp / draftedTotal.dp, random: accepted.random / draftedTotal.random };
        const report = `cosine ${(dpCosine / cases.length).toFixed(4)} vs ${(randomCosine / cases.length).toFixed(4)}, ` +
            `α ${alpha.dp.toFixed(3)} (${draftedTotal.dp} drafted) vs ${alpha.random.toFixed(3)} (${draftedTotal.random} drafted)`;
        console.log(`      DP vs random (M = ${numSkip} of 30): ${report}`);
        assert.ok(draftedTotal.dp > 50 && draftedTotal.random > 50, report);
        assert.ok(dpCosine > randomCosine, report);
        assert.ok(alpha.dp > alpha.random, report);
    });
});

/** Prefills the prompt and evaluates its last token with capture on: x_0..x_L of that token. */
async function captureLastPromptToken(open: Open, tokens: readonly Token[]): Promise<{ pos: number; hidden: Float32Array }> {
    await prefill(open.sequence, tokens);
    const pos = open.sequence.nextTokenIndex;
    open.native.setCapture(true);
    try {
        await open.sequence.evaluateWithoutGeneratingNewTokens([tokens.at(-1)!]);
    } finally {
        open.native.setCapture(false);
    }
    const hidden = open.native.readHiddenStates(pos);
    assert.ok(hidden, "the last prompt token was not captured");
    // Leave the sequence as prefill left it, for the decoders that follow.
    await open.sequence.eraseContextTokenRanges([{ start: pos, end: open.sequence.nextTokenIndex }]);
    return { pos, hidden };
}

/** cos(x_0 run through the layers `mask` keeps, the full model's x_L): the DP's objective for any set. */
async function chainCosine(native: ClaspNative, pos: number, hidden: Float32Array, mask: Uint8Array): Promise<number> {
    const width = native.info.nEmbd, layers = native.info.nLayer;
    let state = hidden.slice(0, width);
    for (let layer = 0; layer < layers; layer++)
        if (!mask[layer]) state = (await native.evalLayerCandidates(pos, layer, state)).slice(0, width);
    const target = hidden.subarray(layers * width, (layers + 1) * width);
    let dot = 0, a = 0, b = 0;
    for (let i = 0; i < width; i++) {
        dot += state[i]! * target[i]!;
        a += state[i]! * state[i]!;
        b += target[i]! * target[i]!;
    }
    return dot / Math.sqrt(a * b);
}
