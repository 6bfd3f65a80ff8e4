// What the engine plugs in: one speculative decoder per sequence, kept across requests so the
// skip set, the controller's measurements and the rolling stats survive, reconfigured with each
// request's settings. A sequence is one caller's (a window of a shared engine), so its decoder's
// stats are that caller's; the engine reads them after each request and sends them to it alone.
import type { LlamaContext, LlamaContextSequence } from "node-llama-cpp";
import type { SpeculationSettings } from "../protocol.ts";
import { createClaspNative, type ClaspNative } from "../native/index.ts";
import { SpeculativeDecoder } from "./speculativeDecoder.ts";
import type { ThreadPlan } from "../threadPlan.ts";

export interface NativeAvailability {
    native?: ClaspNative;
    /** Why there is none (stock binary, unsupported architecture, split KV cache). */
    reason?: string;
}

export interface ClaspDecoderFactoryOptions {
    /** The native primitives for a sequence; defaults to `nativeIfAvailable`. */
    createNative?(context: LlamaContext, sequence: LlamaContextSequence): NativeAvailability;
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
    /** `threadPlan`: the engine's thread counts per phase, once measured (threadPlanner.ts). */
    return (loaded: { context: LlamaContext; sequence: LlamaContextSequence; threadPlan?: ThreadPlan }, settings: SpeculationSettings): SpeculativeDecoder => {
        let decoder = decoders.get(loaded.sequence);
        if (decoder === undefined) {
            const { native, reason } = (options.createNative ?? nativeIfAvailable)(loaded.context, loaded.sequence);
            decoder = new SpeculativeDecoder(settings, { native, nativeUnavailable: reason, threadPlan: loaded.threadPlan });
            decoders.set(loaded.sequence, decoder);
        } else {
            decoder.configure(settings);
            if (loaded.threadPlan && decoder.threadPlan !== loaded.threadPlan) decoder.useThreadPlan(loaded.threadPlan);
        }
        return decoder;
    };
}
