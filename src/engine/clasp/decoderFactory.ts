// What the engine plugs in: one speculative decoder per sequence, kept across requests so the
// skip set, the controller's measurements and the rolling stats survive, reconfigured with each
// request's settings, and a stats callback after every request (the engine streams it as events).
import type { LlamaContext, LlamaContextSequence } from "node-llama-cpp";
import type { Decoder } from "../decoding.ts";
import type { SpeculationSettings, SpeculationStats } from "../protocol.ts";
import { createClaspNative, type ClaspNative } from "../native/index.ts";
import { SpeculativeDecoder } from "./speculativeDecoder.ts";

export interface NativeAvailability {
    native?: ClaspNative;
    /** Why there is none (stock binary, unsupported architecture, split KV cache). */
    reason?: string;
}

export interface ClaspDecoderFactoryOptions {
    /** The native primitives for a sequence; defaults to `nativeIfAvailable`. */
    createNative?(context: LlamaContext, sequence: LlamaContextSequence): NativeAvailability;
    onStats?(stats: SpeculationStats): void;
}

/** The native primitives when the patched build and the model allow them; otherwise the reason. */
export function nativeIfAvailable(context: LlamaContext, sequence: LlamaContextSequence): NativeAvailability {
    try {
        return { native: createClaspNative(context, sequence) };
    } catch (error) {
        return { reason: error instanceof Error ? error.message : String(error) };
    }
}

export function createClaspDecoderFactory(options: ClaspDecoderFactoryOptions = {}) {
    const decoders = new WeakMap<LlamaContextSequence, SpeculativeDecoder>();
    return (loaded: { context: LlamaContext; sequence: LlamaContextSequence }, settings: SpeculationSettings): Decoder => {
        let decoder = decoders.get(loaded.sequence);
        if (decoder === undefined) {
            const { native, reason } = (options.createNative ?? nativeIfAvailable)(loaded.context, loaded.sequence);
            decoder = new SpeculativeDecoder(settings, { native, nativeUnavailable: reason });
            decoders.set(loaded.sequence, decoder);
        } else decoder.configure(settings);
        const chosen = decoder;
        return {
            async decode(input) {
                const outcome = await chosen.decode(input);
                options.onStats?.(chosen.stats());
                return outcome;
            },
        };
    };
}
