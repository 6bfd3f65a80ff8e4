// A prompt's batches (over 64 rows) with Q4_1 weights take the same rows kernels as a verify batch
// (llamafile's tinyBLAS has no Q4_1, and stock's loop takes one weight row and one batch row per call).
// Every row of a matrix product is still its one-row dot product, so the prompt's KV cache is what
// stepping through it token by token leaves, but not bit for bit: a prompt's batch runs other
// attention kernels (tiled flash attention), which sum in another order. Compared: the next-token
// distribution after every prompt token, evaluated in one batch and stepped token by token, within that
// rounding. A kernel that mixes up or corrupts rows of a large batch moves it far beyond it (the exact,
// bit-for-bit check of the same kernels is batchInvariance.test.ts).
import assert from "node:assert/strict";
import type { LlamaModel, Token } from "node-llama-cpp";
import { requireCachedModel } from "../../src/models/pinnedModels.ts";
import { decodingContextOptions } from "../../src/engine/decoding.ts";
import { distributions, maxAbsDiff, patchedLlama } from "./nativeHarness.ts";

const promptLength = 150; // one batch: 9 groups of 16 rows and a tail of 6

describe("native: a prompt prefilled in one batch leaves what stepping through it leaves", function () {
    this.timeout(300_000);

    it("SmolLM2-135M Q4_1: the next-token distribution after every prompt token, one batch of 150 rows against 150 steps", async () => {
        const llama = await patchedLlama();
        const model: LlamaModel = await llama.loadModel({ modelPath: requireCachedModel("smollm2"), gpuLayers: 0 });
        // a context each: one batch of 150 rows with logits on every row, and 150 one-token steps
        const open = () => model.createContext({ ...decodingContextOptions, contextSize: 512, sequences: 1, threads: 1 });
        const [batchContext, stepContext] = [await open(), await open()];
        try {
            const nVocab = model.fileInfo.metadata.tokenizer?.ggml?.tokens?.length ?? 0;
            const lines = Array.from({ length: 40 }, (_, i) => `const total${i} = orders.reduce((sum, order) => sum + order.price * ${i + 2}, 0);`);
            const prompt = model.tokenize(lines.join("\n"), false).slice(0, promptLength) as Token[];
            assert.equal(prompt.length, promptLength);

            const batched = await distributions(batchContext.getSequence(), prompt, nVocab);
            const stepSequence = stepContext.getSequence();
            const stepped: Float64Array[] = [];
            for (const token of prompt) stepped.push(...await distributions(stepSequence, [token], nVocab));

            // measured: at most 0.07 on a row (the attention's order; near-ties may swap the top two), while
            // a row computed from a neighbour's input moves its distribution by far more
            const far = stepped.map((step, row) => ({ row, diff: maxAbsDiff(batched[row]!, step) })).filter(({ diff }) => diff >= 0.25);
            assert.deepEqual(far, [], "rows whose distributions differ by 0.25 or more");
        } finally {
            await batchContext.dispose();
            await stepContext.dispose();
            await model.dispose();
        }
    });
});
