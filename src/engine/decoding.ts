// The seam between prompt handling and token generation. The engine prefills the prompt
// (reusing whatever KV cache matches), then hands the sequence to a Decoder, which commits
// tokens through `onTokens` until it is told to stop. Plain decoding lives here; the
// speculative decoders (src/engine/clasp/) implement the same interface, so every caller is
// mode-agnostic and "lossless" means: same tokens through the same callback.
import type { LlamaContextSequence, Token } from "node-llama-cpp";
import type { RequestSpeculationStats } from "./protocol.ts";
import { EngineError, cancelledCode } from "./rpc.ts";

/**
 * Context options every decoding context needs. A sliding-window (SWA) KV cache evicts cells that
 * fall out of the window as the sequence grows, so erasing a rejected draft cannot bring them back:
 * the next token would attend to a shorter window than plain decoding's (Gemma 3 then diverged from
 * plain greedy decoding in lookup mode). A full cache keeps rollback and prefix reuse exact; models
 * without SWA are unaffected.
 */
export const decodingContextOptions = { swaFullCache: true } as const;

export interface DecodeInput {
    sequence: LlamaContextSequence;
    /**
     * The last prompt token, not yet evaluated: the prompt before it is already in the KV cache
     * (see `prefill`). Decoders evaluate it first, so its hidden states are theirs to capture.
     */
    pending: Token;
    maxTokens: number;
    /** 0 = greedy. */
    temperature: number;
    seed?: number;
    signal?: AbortSignal;
    /**
     * Receives committed tokens in order, possibly several at once. Returning false stops
     * decoding; tokens passed after that point are never committed.
     */
    onTokens(tokens: Token[]): boolean;
    /** Tokens a lookup drafter may copy from: the prompt (prefix and suffix) and extra context. */
    lookupSource?: readonly Token[];
}

export type DecodeEnd = "eog" | "maxTokens" | "stopped" | "abort";

export interface DecodeOutcome {
    end: DecodeEnd;
    generatedTokens: number;
    speculation?: RequestSpeculationStats;
}

export interface Decoder {
    decode(input: DecodeInput): Promise<DecodeOutcome>;
}

/**
 * Batches of at most this many tokens run llama.cpp's one-row kernels in our patched build, so
 * that a verify row is bit for bit a one-token step (CLASP_BATCH_INVARIANT_ROWS in
 * native/llama.cpp.patch; a unit test holds the two equal). Larger batches get the fast batched
 * kernels: prompt prefill should never come in pieces this small.
 */
export const batchInvariantRows = 64;

/**
 * With a signal, the prompt is evaluated in chunks of this many tokens and the signal is checked
 * between them: a shared engine switching between windows re-prefills whole prompts, and a
 * keystroke must not have to wait for one it just made useless. Twice `batchInvariantRows`, and a
 * tail of at most that many goes with the chunk before it, so every chunk of a long prompt runs
 * the batched kernels.
 */
const prefillChunkTokens = 2 * batchInvariantRows;

/**
 * Brings the sequence's KV cache to `tokens` minus the last one, evaluating only the suffix
 * that differs from what is cached. Returns how many cached tokens were kept. When `signal`
 * aborts, it stops at the next chunk with a CANCELLED error; what was evaluated stays cached and
 * is reused by the next prefill.
 */
export async function prefill(sequence: LlamaContextSequence, tokens: readonly Token[], signal?: AbortSignal): Promise<number> {
    if (tokens.length === 0) throw new Error("prefill needs at least one token");
    const body = tokens.slice(0, -1);
    const cached = sequence.contextTokens;
    let common = 0;
    while (common < body.length && common < cached.length && cached[common] === body[common]) common++;
    if (common < cached.length)
        await sequence.eraseContextTokenRanges([{ start: common, end: sequence.nextTokenIndex }]);
    const step = signal ? prefillChunkTokens : body.length;
    for (let start = common; start < body.length;) {
        if (signal?.aborted) throw new EngineError("Request cancelled", cancelledCode, "AbortError");
        let end = Math.min(body.length, start + step);
        if (body.length - end <= batchInvariantRows) end = body.length;
        await sequence.evaluateWithoutGeneratingNewTokens(body.slice(start, end));
        start = end;
    }
    return common;
}

/** One token at a time through node-llama-cpp's own sampler: the baseline every mode must equal. */
export const plainDecoder: Decoder = {
    async decode(input) {
        const { sequence, maxTokens, signal } = input;
        let generated = 0;
        const isEog = (token: Token) => sequence.model.isEogToken(token);
        const iterator = sequence.evaluate([input.pending], {
            temperature: input.temperature,
            seed: input.seed,
        });
        try {
            for await (const token of iterator) {
                if (signal?.aborted) return { end: "abort", generatedTokens: generated };
                if (isEog(token)) return { end: "eog", generatedTokens: generated };
                generated++;
                if (!input.onTokens([token])) return { end: "stopped", generatedTokens: generated };
                if (generated >= maxTokens) return { end: "maxTokens", generatedTokens: generated };
            }
        } finally {
            await iterator.return();
        }
        return { end: "eog", generatedTokens: generated };
    },
};
