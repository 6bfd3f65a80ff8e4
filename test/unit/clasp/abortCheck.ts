// Abort in the middle of a round (while the verify batch, a plain stretch or a native round is
// being evaluated), then serve more requests on the same sequence: they must still equal plain decoding.
import assert from "node:assert/strict";
import type { LlamaContextSequence } from "node-llama-cpp";
import type { Decoder } from "../../../src/engine/decoding.ts";
import type { ClaspNative } from "../../../src/engine/native/index.ts";
import { decodePlain, decodeWith, testPrompts, type OpenModel } from "./harness.ts";

/** Aborts `controller` when the `abortAt`-th model call of the armed request starts. */
export class Tripwire {
    #calls = 0;
    #abortAt = 0;
    #controller?: AbortController;

    arm(controller: AbortController, abortAt: number): void {
        this.#calls = 0;
        this.#abortAt = abortAt;
        this.#controller = controller;
    }

    disarm(): void {
        this.#controller = undefined;
    }

    #call(): void {
        if (++this.#calls === this.#abortAt) this.#controller?.abort();
    }

    /** The object, except that its model calls (named `methods`) first count towards the abort. */
    wrap<T extends object>(target: T, methods: readonly string[]): T {
        return new Proxy(target, {
            get: (object, property) => {
                const value = Reflect.get(object, property, object);
                if (typeof value !== "function") return value;
                if (!methods.includes(property as string)) return value.bind(object);
                return (...args: unknown[]) => {
                    this.#call();
                    return (value as (...a: unknown[]) => unknown).apply(object, args);
                };
            },
        });
    }

    sequence(sequence: LlamaContextSequence): LlamaContextSequence {
        return this.wrap(sequence, ["controlledEvaluate", "evaluate"]);
    }

    native(native: ClaspNative): ClaspNative {
        return this.wrap(native, ["round"]);
    }
}

/** `createDecoder` gets the native primitives (when `open` has them) wrapped so that their rounds can be aborted. */
export async function assertAbortLeavesSequenceConsistent(
    open: OpenModel & { native?: ClaspNative },
    createDecoder: (native: ClaspNative | undefined) => Decoder,
): Promise<void> {
    const tripwire = new Tripwire();
    const decoder = createDecoder(open.native && tripwire.native(open.native));
    const sequence = tripwire.sequence(open.sequence);
    const prompts = testPrompts(open.model, 6, 7);
    for (const [i, prompt] of prompts.entries()) {
        const controller = new AbortController();
        tripwire.arm(controller, 1 + (i % 3));
        const aborted = await decodeWith(decoder, sequence, prompt, { maxTokens: 40, signal: controller.signal });
        tripwire.disarm();
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
