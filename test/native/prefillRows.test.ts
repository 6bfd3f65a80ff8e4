// A prompt's batches (over 64 rows) with Q4_1 weights take the same rows kernels as a verify batch
// (llamafile's tinyBLAS has no Q4_1, and stock's loop takes one weight row and one batch row per call).
// Every row of a matrix product is still its one-row dot product. The attention of a prompt's batch is
// stock's tiled flash attention, in tiles of 64 queries and 64 KV cells: a row of the first tile sees one
// KV tile and sums as the one-token kernel does, so those rows are bit for bit one-token steps; later rows
// sum over several KV tiles in another order and differ by rounding. Compared: the next-token distribution
// after every prompt token, evaluated in one batch and stepped token by token.
import assert from "node:assert/strict";
import type { LlamaModel, Token } from "node-llama-cpp";
import { requireCachedModel } from "../../src/models/pinnedModels.ts";
import { decodingContextOptions } from "../../src/engine/decoding.ts";
import { distributions, maxAbsDiff, patchedLlama, vocabSize } from "./nativeHarness.ts";

const promptLength = 150; // one batch: 9 groups of 16 rows and a tail of 6
const faTileRows = 64; // GGML_FA_TILE_Q and GGML_FA_TILE_KV (ggml-cpu/common.h)

describe("native: a prompt prefilled in one batch leaves what stepping through it leaves", function () {
    this.timeout(300_000);

    it("SmolLM2-135M Q4_1: the next-token distribution after every prompt token, one batch of 150 rows against 150 steps", async () => {
        const llama = await patchedLlama();
        const model: LlamaModel = await llama.loadModel({ modelPath: requireCachedModel("smollm2"), gpuLayers: 0 });
        // a context each: one batch of 150 rows with logits on every row, and 150 one-token steps
        const open = () => model.createContext({ ...decodingContextOptions, contextSize: 512, sequences: 1, threads: 1 });
        const [batchContext, stepContext] = [await open(), await open()];
        try {
            const nVocab = vocabSize(model);
            const lines = Array.from({ length: 40 }, (_, i) => `const total${i} = orders.reduce((sum, order) => sum + order.price * ${i + 2}, 0);`);
            const prompt = model.tokenize(lines.join("\n"), false).slice(0, promptLength) as Token[];
            assert.equal(prompt.length, promptLength);

            const batched = await distributions(batchContext.getSequence(), prompt, nVocab);
            const stepSequence = stepContext.getSequence();
            const stepped: Float64Array[] = [];
            for (const token of prompt) stepped.push(...await distributions(stepSequence, [token], nVocab));

            const diffs = stepped.map((step, row) => ({ row, diff: maxAbsDiff(batched[row]!, step) }));
            // the first attention tile: bit for bit, so any change to a row's products shows
            assert.deepEqual(diffs.slice(0, faTileRows).filter(({ diff }) => diff !== 0), [], "rows of the first tile that differ");
            // later rows: measured at most 0.07 (the attention's order; near-ties may swap the top two), while a
            // row computed from a neighbour's input moves its distribution by far more
            assert.deepEqual(diffs.filter(({ diff }) => diff >= 0.25), [], "rows whose distributions differ by 0.25 or more");
        } finally {
            await batchContext.dispose();
            await stepContext.dispose();
            await model.dispose();
        }
    });
});
