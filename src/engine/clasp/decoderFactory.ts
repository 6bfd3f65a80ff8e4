// What the engine plugs in: one speculative decoder per sequence, kept across requests so the
// skip set, the controller's measurements and the rolling stats survive, reconfigured with each
// request's settings, and a stats callback after every request (the engine streams it as events).
import type { LlamaContext, LlamaContextSequence } from "node-llama-cpp";
import type { Decoder } from "../decoding.ts";
import type { SpeculationSettings, SpeculationStats } from "../protocol.ts";
import type { ClaspNative } from "../native/index.ts";
import { SpeculativeDecoder } from "./speculativeDecoder.ts";

export interface ClaspDecoderFactoryOptions {
    /** The native primitives for a sequence; absent (or undefined) with the stock binary. */
    createNative?(context: LlamaContext, sequence: LlamaContextSequence): ClaspNative | undefined;
    onStats?(stats: SpeculationStats): void;
}

export function createClaspDecoderFactory(options: ClaspDecoderFactoryOptions = {}) {
    const decoders = new WeakMap<LlamaContextSequence, SpeculativeDecoder>();
    return (loaded: { context: LlamaContext; sequence: LlamaContextSequence }, settings: SpeculationSettings): Decoder => {
        let decoder = decoders.get(loaded.sequence);
        if (decoder === undefined) {
            const native = options.createNative?.(loaded.context, loaded.sequence);
            decoder = new SpeculativeDecoder(settings, { native });
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
