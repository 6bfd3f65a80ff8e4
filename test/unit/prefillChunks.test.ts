import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { LlamaContextSequence, Token } from "node-llama-cpp";
import { batchInvariantRows, prefill } from "../../src/engine/decoding.ts";

/** A sequence that records the batch sizes prefill hands it. */
function recordingSequence(): { sequence: LlamaContextSequence; batches: number[] } {
    const batches: number[] = [];
    const tokens: Token[] = [];
    const sequence = {
        get contextTokens() { return tokens; },
        get nextTokenIndex() { return tokens.length; },
        async eraseContextTokenRanges() { throw new Error("nothing is cached"); },
        async evaluateWithoutGeneratingNewTokens(batch: Token[]) {
            batches.push(batch.length);
            tokens.push(...batch);
        },
    } as unknown as LlamaContextSequence;
    return { sequence, batches };
}

describe("prefill in chunks", () => {
    it("never evaluates a long prompt in a batch small enough for the one-row kernels", async () => {
        for (const length of [100, 129, 200, 257, 300, 1000, 1001]) {
            const { sequence, batches } = recordingSequence();
            const prompt = Array.from({ length }, (_, i) => (i % 50) as Token);
            await prefill(sequence, prompt, new AbortController().signal);
            assert.equal(batches.reduce((a, b) => a + b, 0), length - 1, `${length}: every token but the last`);
            assert.ok(batches.length > 1 || length - 1 <= 3 * batchInvariantRows, `${length}: one batch`);
            for (const size of batches) assert.ok(size > batchInvariantRows, `${length}: a batch of ${size} (${batches.join(", ")})`);
        }
    });

    it("uses the patch's batch-invariance limit", () => {
        const patch = readFileSync("native/llama.cpp.patch", "utf8");
        const defined = /#define CLASP_BATCH_INVARIANT_ROWS (\d+)/.exec(patch);
        assert.ok(defined, "the patch defines no CLASP_BATCH_INVARIANT_ROWS");
        assert.equal(Number(defined[1]), batchInvariantRows);
    });
});
