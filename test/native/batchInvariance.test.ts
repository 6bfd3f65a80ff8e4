// Why "lossless" can be exact: a verify batch must compute, for every row, bit for bit what a
// one-token step computes, or greedy argmax flips at near-ties and a draft-verify loop drifts from
// plain decoding (as it did on F16 weights, and on SmolLM2 at 0.9 % probability). Stock ggml picks
// kernels by batch size: llamafile's tinyBLAS from two rows, the repacked Q4_0/Q4_K/Q8_0 GEMMs for
// groups of four, IQ panels from eight, tiled flash attention for several queries and a split-KV
// one for a single query, each summing in its own order, and on AMX CPUs tiles for two rows and
// more. Our patch (native/llama.cpp.patch, CLASP_BATCH_INVARIANT_ROWS) keeps batches of up to 64
// rows on the kernels one token uses (prompt prefill keeps the fast ones), and runs the AMX buffer's
// one-row VNNI kernel for every row of every batch. Compared: the full next-token distribution after each token,
// evaluated one at a time on 1 thread and as one batch on 2 threads (the thread plan may verify on
// more threads than it steps on), with flash attention off and on, on F16, Q8_0 and F32 fixtures
// and the real Q4_1 (SmolLM2) and Q4_K_M (Gemma 3) models, after a short prompt and after one whose
// continuation crosses 512 cells (the batch sees more KV cells than the steps before it, Gemma 3's
// sliding window starts to mask cells, and our small-batch attention kernel pads and skips cells).
import assert from "node:assert/strict";
import type { LlamaModel, Token } from "node-llama-cpp";
import { requireCachedModel } from "../../src/models/pinnedModels.ts";
import { ensureFixture, fixturePresets, type FixtureSpec } from "../../src/fixtures/index.ts";
import { decodingContextOptions } from "../../src/engine/decoding.ts";
import { distributions, patchedLlama, vocabSize } from "./nativeHarness.ts";

const continuationLength = 9; // a verify batch of the pending token and 8 drafts
const longPromptLength = 508; // so the continuation runs from cell 508 to 516

const models: { name: string; path: () => Promise<string> }[] = [
    { name: "F16 fixture (wide)", path: () => ensureFixture(fixturePresets.wide) },
    { name: "Q8_0 fixture", path: () => ensureFixture({ ...fixturePresets.wide, tensorType: "Q8_0" } satisfies FixtureSpec) },
    { name: "F32 fixture (rand)", path: () => ensureFixture(fixturePresets.rand) },
    { name: "SmolLM2-135M Q4_1", path: async () => requireCachedModel("smollm2") },
    { name: "Gemma 3 270M Q4_K_M", path: async () => requireCachedModel("gemma3") },
];

/** `longPromptLength` tokens of varied source code that end with `opening`. */
function longTokens(model: LlamaModel, opening: string): Token[] {
    const lines: string[] = [];
    for (let i = 0; lines.join("\n").length < 8 * longPromptLength; i++)
        lines.push(`const value${i} = items.filter((item) => item.weight > ${i * 7 % 13}).map((item) => item.name + "${i}");`);
    const body = model.tokenize(lines.join("\n") + "\n", false);
    const tail = model.tokenize(opening, false);
    assert.ok(body.length + tail.length >= longPromptLength, "the long prompt is too short");
    return [...body.slice(0, longPromptLength - tail.length), ...tail];
}

describe("native: a verify batch computes what one-token steps compute, bit for bit", function () {
    this.timeout(600_000);
    for (const { name, path } of models) {
        for (const [flashAttention, longPrompt] of [[false, false], [true, false], [false, true], [true, true]]) {
            it(`${name}, flash attention ${flashAttention ? "on" : "off"}, ${longPrompt ? "long" : "short"} prompt (steps on 1 thread, the batch on 2)`, async () => {
                const llama = await patchedLlama();
                const model: LlamaModel = await llama.loadModel({ modelPath: await path(), gpuLayers: 0 });
                // The thread plan may verify on more threads than it decodes single tokens on.
                const open = (threads: number) =>
                    model.createContext({ ...decodingContextOptions, contextSize: 1024, sequences: 1, threads, flashAttention });
                const [single, batch] = [await open(1), await open(2)];
                try {
                    const nVocab = vocabSize(model);
                    const opening = "export function parse(input: string): number[] {\n    return input";
                    const prompt = longPrompt ? longTokens(model, opening) : model.tokenize(opening, false);
                    const continuation = model.tokenize(".split(\",\").map((part) => Number(part.trim()));\n}\n", false).slice(0, continuationLength) as Token[];
                    assert.equal(continuation.length, continuationLength);

                    const stepSequence = single.getSequence();
                    await stepSequence.evaluateWithoutGeneratingNewTokens(prompt);
                    const stepped: Float64Array[] = [];
                    for (const token of continuation) stepped.push(...await distributions(stepSequence, [token], nVocab));

                    const batchSequence = batch.getSequence();
                    await batchSequence.evaluateWithoutGeneratingNewTokens(prompt);
                    const batched = await distributions(batchSequence, continuation, nVocab);

                    for (let row = 0; row < continuationLength; row++) {
                        let differing = 0, largest = 0;
                        for (let t = 0; t < nVocab; t++) {
                            const d = Math.abs(stepped[row]![t]! - batched[row]![t]!);
                            if (d !== 0) differing++;
                            largest = Math.max(largest, d);
                        }
                        assert.equal(differing, 0, `row ${row} of ${continuationLength}: ${differing} probabilities differ (largest by ${largest})`);
                    }
                } finally {
                    await single.dispose();
                    await batch.dispose();
                    await model.dispose();
                }
            });
        }
    }
});
