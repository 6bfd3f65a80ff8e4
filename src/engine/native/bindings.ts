// Typed access to node-llama-cpp internals the CLaSp addon needs. These fields are private in
// node-llama-cpp 3.21.1 (pinned exactly), so each access is checked at runtime.
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import type { Llama, LlamaContext, LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";
import { ClaspBuildMissingError } from "./errors.ts";
import { CLASP_PATCH_VERSION } from "./patchVersion.ts";

/** Opaque handles of node-llama-cpp's native objects. */
export type NativeContext = { readonly __nativeContext: unique symbol };
export type NativeModel = { readonly __nativeModel: unique symbol };

export interface NativeInfo {
    supported: boolean;
    nLayer: number;
    nEmbd: number;
    nVocab: number;
    patchVersion: number;
    kvUnified: boolean;
    architecture: string;
}

/** Draft settings shared by the typed API and the addon (which takes the pending tokens as a Uint32Array). */
export interface DraftSettings {
    /** Position of the first pending token: the real sequence's KV holds [0, startPos). */
    startPos: number;
    /** Layers to skip (1 = skip); null drafts with the full model. */
    mask: Uint8Array | null;
    maxTokens: number;
    /** Drafting stops before the first token whose probability is below this. */
    minConfidence: number;
    /** 0 or absent: greedy. Above 0: seeded sampling from softmax(logits / temperature). */
    temperature?: number;
    seed?: number;
    /** Return each step's full distribution (n * nVocab), for lossless speculative sampling. */
    wantProbabilities?: boolean;
}

export interface NativeDraftOptions extends DraftSettings {
    pending: Uint32Array;
}

export interface NativeDraftResult {
    tokens: Uint32Array;
    confidence: Float32Array;
    probabilities?: Float32Array;
    ms: number;
}

export interface NativeOptimizeResult {
    mask: Uint8Array;
    /** cos(state with the chosen layers skipped, full-model x_L) */
    cosine: number;
    ms: number;
}

/** Thread counts per phase of a round; 0 or absent keeps the context's. */
export interface PhaseThreads {
    /** One-token decodes: the layer-skip draft, a verify of the pending token alone. */
    single?: number;
    /** Verify batches. */
    batch?: number;
    /** The DP's candidate batches. */
    dp?: number;
}

/** node-llama-cpp's sampler settings at T > 0 (the verify distribution must be the one plain decoding samples from). */
export interface TargetSampling {
    /** 0 or absent: greedy. */
    temperature?: number;
    topK?: number;
    topP?: number;
    minP?: number;
    /** Seeds the draft's sampling and the acceptance draws. */
    seed?: number;
}

export interface NativeRoundOptions extends TargetSampling {
    /** The last committed token, not yet in the KV cache; evaluated at startPos. */
    pending: number;
    /** The real sequence's KV holds [0, startPos). */
    startPos: number;
    /** A ready draft (prompt lookup) to verify as is. */
    proposal?: Uint32Array;
    /** > 0: draft up to this many tokens with `mask` skipped (instead of a proposal). */
    draftMax?: number;
    mask?: Uint8Array | null;
    minConfidence?: number;
    /** Capture during the verify and run the DP on the last accepted token... */
    runDp?: boolean;
    /** ... or on `pending` itself (a request's first DP: the prompt's last token). */
    dpAtPending?: boolean;
    numSkip?: number;
    threads?: PhaseThreads;
}

export interface NativeRoundResult {
    /** What was verified after `pending`. */
    draft: Uint32Array;
    /** Draft tokens kept: the sequence now holds [0, startPos + 1 + accepted). */
    accepted: number;
    /** The model's token after them (correction or bonus), not yet in the KV cache. */
    next: number;
    /** The DP's skip set, or null when it did not run. */
    mask: Uint8Array | null;
    /** DP cosine (NaN when it did not run). */
    cosine: number;
    draftMs: number;
    verifyMs: number;
    dpMs: number;
    /** The whole call on the worker thread. */
    ms: number;
}

/** The DP's decisions cell by cell, (nLayer + 1) × (numSkip + 1) row-major: i layers processed, j skipped. */
export interface OptimizeTrace {
    /** 1 where g[i][j] came from skipping layer i − 1. */
    skipped: Uint8Array;
    /** cos(g[i][j], x_i); NaN where the cell does not exist or cannot lead to g[L][M] (0 < j < M − (L − i): not computed). */
    similarity: Float32Array;
}

/** The exports our addon sources (native/addon/AddonClasp.cpp) add to node-llama-cpp's addon. */
export interface ClaspBindings {
    claspPatchVersion: number;
    claspGetInfo(ctx: NativeContext): NativeInfo;
    claspModelSupportsLayerSkip(model: NativeModel): boolean;
    claspSetCapture(ctx: NativeContext, on: boolean): void;
    claspReadHiddenStates(ctx: NativeContext, seqId: number, pos: number): Float32Array | null;
    claspOptimize(ctx: NativeContext, seqId: number, pos: number, hidden: Float32Array, numSkip: number, trace?: boolean): Promise<NativeOptimizeResult & Partial<OptimizeTrace>>;
    claspEvalLayerCandidates(ctx: NativeContext, seqId: number, pos: number, layer: number, candidates: Float32Array): Promise<Float32Array>;
    claspDraft(ctx: NativeContext, seqId: number, options: NativeDraftOptions): Promise<NativeDraftResult>;
    claspRound(ctx: NativeContext, seqId: number, options: NativeRoundOptions): Promise<NativeRoundResult>;
    claspSetLayerSkip(ctx: NativeContext, mask: Uint8Array | null): boolean;
    claspGetLayerSkip(ctx: NativeContext): Uint8Array;
}

const REQUIRED_FUNCTIONS = [
    "claspGetInfo", "claspModelSupportsLayerSkip", "claspSetCapture", "claspReadHiddenStates", "claspOptimize",
    "claspEvalLayerCandidates", "claspDraft", "claspRound", "claspSetLayerSkip", "claspGetLayerSkip",
] as const;

function internal(owner: object, field: string, what: string): unknown {
    const value = (owner as Record<string, unknown>)[field];
    if (value == null) throw new Error(`CLaSp: node-llama-cpp internal ${what} (${field}) is missing; is node-llama-cpp 3.21.1 installed?`);
    return value;
}

/** The addon exports of `llama`, checked to be our patched build of the expected version. */
export function claspBindingsOf(llama: Llama): ClaspBindings {
    const bindings = internal(llama, "_bindings", "addon bindings") as Partial<ClaspBindings>;
    const missing = REQUIRED_FUNCTIONS.filter(name => typeof bindings[name] !== "function");
    if (missing.length > 0)
        throw new ClaspBuildMissingError(`the loaded llama.cpp binary is not the CLaSp-patched build (missing ${missing.join(", ")})`);
    if (bindings.claspPatchVersion !== CLASP_PATCH_VERSION)
        throw new ClaspBuildMissingError(`the loaded build has patch version ${bindings.claspPatchVersion}, this code needs ${CLASP_PATCH_VERSION}`);
    return bindings as ClaspBindings;
}

/**
 * Returns the native heap's free pages to the system (glibc's malloc_trim; a no-op elsewhere).
 * False when nothing was returned, or when the loaded binary is not ours (the stock one has no
 * such export).
 */
export function trimNativeHeap(llama: Llama): boolean {
    const bindings = internal(llama, "_bindings", "addon bindings") as { claspTrimNativeHeap?: () => boolean };
    return typeof bindings.claspTrimNativeHeap === "function" && bindings.claspTrimNativeHeap();
}

export const llamaOfModel = (model: LlamaModel): Llama => internal(model, "_llama", "model's llama") as Llama;
export const nativeModelOf = (model: LlamaModel): NativeModel => internal(model, "_model", "native model") as NativeModel;
export const nativeContextOf = (context: LlamaContext): NativeContext => internal(context, "_ctx", "native context") as NativeContext;

export function sequenceIdOf(sequence: LlamaContextSequence): number {
    const id = internal(sequence, "_sequenceId", "sequence id");
    if (typeof id !== "number") throw new Error("CLaSp: node-llama-cpp's sequence id is not a number");
    return id;
}

/** The fields node-llama-cpp keeps a sequence's state in (what its own `_decodeTokens` updates). */
interface SequenceState {
    _contextTokens: Token[];
    _nextTokenIndex: number;
    _loadedTokenPredictions: unknown[];
}

function sequenceState(sequence: LlamaContextSequence): SequenceState {
    const state = sequence as unknown as Partial<SequenceState>;
    if (!Array.isArray(state._contextTokens) || typeof state._nextTokenIndex !== "number" || !Array.isArray(state._loadedTokenPredictions))
        throw new Error("CLaSp: node-llama-cpp's sequence state fields are missing; is node-llama-cpp 3.21.1 installed?");
    return state as SequenceState;
}

/** Whether native code may decode at the sequence's end: no token predictor holds cells past it. */
export function sequenceEndsCleanly(sequence: LlamaContextSequence): boolean {
    const state = sequenceState(sequence);
    return state._loadedTokenPredictions.length === 0 && state._contextTokens.length === state._nextTokenIndex;
}

/**
 * Records tokens that native code decoded into the sequence's KV cache right after its end, the way
 * node-llama-cpp records its own decodes, so that its erase and reuse logic sees them.
 */
export function appendDecodedTokens(sequence: LlamaContextSequence, tokens: readonly Token[]): void {
    const state = sequenceState(sequence);
    state._contextTokens = state._contextTokens.concat(tokens);
    state._nextTokenIndex += tokens.length;
}

type WithLock = <T>(scope: [object, string], callback: () => Promise<T> | T) => Promise<T>;
let withLockPromise: Promise<WithLock> | undefined;

// node-llama-cpp serializes decodes with lifecycle-utils' withLock([context, "context"]); the lock
// registry is module state, so it must be the copy node-llama-cpp itself resolves (never a bundled one).
function nodeLlamaCppWithLock(): Promise<WithLock> {
    withLockPromise ??= (async () => {
        const requireFromNodeLlamaCpp = createRequire(import.meta.resolve("node-llama-cpp"));
        const modulePath = requireFromNodeLlamaCpp.resolve("lifecycle-utils");
        const lifecycleUtils = await import(pathToFileURL(modulePath).href) as { withLock: WithLock };
        return lifecycleUtils.withLock;
    })();
    return withLockPromise;
}

/** Runs `fn` while no node-llama-cpp decode can run on `context`. */
export async function withContextLock<T>(context: LlamaContext, fn: () => Promise<T> | T): Promise<T> {
    const withLock = await nodeLlamaCppWithLock();
    return withLock([context, "context"], fn);
}
