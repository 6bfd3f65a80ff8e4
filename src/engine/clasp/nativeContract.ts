// The part of the native CLaSp primitives (src/engine/native/, issue 3) the decoders use,
// declared structurally so this folder depends only on the shape, not on a loaded addon.
import type { Token } from "node-llama-cpp";

export interface ClaspDraftRequest {
    /** Tokens not yet in the KV cache, evaluated from `startPos` on. */
    pending: Token[];
    startPos: number;
    /** One entry per layer, 1 = skip; null = full model. */
    mask: Uint8Array | null;
    maxTokens: number;
    /** Stop drafting once the draft's probability of its own token falls below this. */
    minConfidence: number;
    /** 0 or absent: greedy. */
    temperature?: number;
    seed?: number;
    /** Return each drafted position's full distribution (tokens.length × nVocab). */
    wantProbabilities?: boolean;
}

export interface ClaspDraftResult {
    tokens: Token[] | Uint32Array;
    confidence: Float32Array;
    probabilities?: Float32Array;
    ms: number;
}

export interface ClaspNativeLike {
    readonly info: { supported: boolean; nLayer: number; nEmbd: number; nVocab: number };
    setCapture(on: boolean): void;
    /** x_0..x_L of the token at `pos` in the last decoded batch; null if it was not captured. */
    readHiddenStates(pos: number): Float32Array | null;
    optimize(pos: number, hidden: Float32Array, numSkip: number): Promise<{ mask: Uint8Array; cosine: number; ms: number }>;
    draft(request: ClaspDraftRequest): Promise<ClaspDraftResult>;
}
