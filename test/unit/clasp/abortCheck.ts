// Abort in the middle of a round (while the verify batch is being evaluated), then serve more
// requests on the same sequence: they must still equal plain decoding.
import assert from "node:assert/strict";
import type { LlamaContextSequence } from "node-llama-cpp";
import type { Decoder } from "../../../src/engine/decoding.ts";
import { decodePlain, decodeWith, testPrompts, type OpenModel } from "./harness.ts";

/** The sequence, except that its `abortAt`-th evaluation call (a verify batch or a plain stretch) first aborts `controller`. */
function abortingDuringEvaluation(sequence: LlamaContextSequence, controller: AbortController, abortAt: number): LlamaContextSequence {
    let calls = 0;
    return new Proxy(sequence, {
        get(target, property) {
            const value = Reflect.get(target, property, target);
            if (typeof value !== "function") return value;
            if (property === "controlledEvaluate" || property === "evaluate")
                return (...args: unknown[]) => {
                    if (++calls === abortAt) controller.abort();
                    return (value as (...a: unknown[]) => unknown).apply(target, args);
                };
            return value.bind(target);
        },
    });
}

export async function assertAbortLeavesSequenceConsistent(open: OpenModel, decoder: Decoder): Promise<void> {
    const prompts = testPrompts(open.model, 6, 7);
    for (const [i, prompt] of prompts.entries()) {
        const controller = new AbortController();
        const aborted = await decodeWith(decoder, abortingDuringEvaluation(open.sequence, controller, 1 + (i % 3)), prompt,
            { maxTokens: 40, signal: controller.signal });
        assert.equal(aborted.outcome.end, "abort", `prompt ${i} was not aborted`);

        const next = prompts[(i + 1) % prompts.length]!;
        const plain = await decodePlain(open.sequence, next, 24);
        const after = await decodeWith(decoder, open.sequence, next, { maxTokens: 24 });
        assert.deepEqual(after.tokens, plain.tokens, `after aborting prompt ${i}, the next request differs from plain decoding`);
        // the aborted request's own prefix must also still decode exactly (its KV was trimmed, not left half-written)
        const again = await decodeWith(decoder, open.sequence, prompt, { maxTokens: 24 });
        assert.deepEqual(again.tokens, (await decodePlain(open.sequence, prompt, 24)).tokens, `prompt ${i} differs after its own abort`);
    }
}
