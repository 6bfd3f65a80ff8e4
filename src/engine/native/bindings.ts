// Typed access to node-llama-cpp internals the CLaSp addon needs. These fields are private in
// node-llama-cpp 3.21.1 (pinned exactly), so each access is checked at runtime.
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import type { Llama, LlamaContext, LlamaContextSequence, LlamaModel } from "node-llama-cpp";
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

/** What a step adds to a draft: the DP in front of it. */
export interface StepSettings {
    /** Position whose x_0..x_L the last decode captured; the DP target. */
    readPos?: number;
    /** Run the DP on the states read at readPos and draft with its mask (ignores `mask`). */
    runDp?: boolean;
    numSkip?: number;
}

export interface StepOutcome {
    /** x_0..x_L read at readPos, or null when not read or not captured. */
    hidden: Float32Array | null;
    dpRan: boolean;
    /** The mask the draft used. */
    mask: Uint8Array;
    /** DP cosine (NaN when the DP did not run). */
    cosine: number;
    dpMs: number;
    draftMs: number;
}

export interface NativeStepOptions extends NativeDraftOptions, StepSettings {}
export interface NativeStepResult extends NativeDraftResult, StepOutcome {}

/** The exports our addon sources (native/addon/AddonClasp.cpp) add to node-llama-cpp's addon. */
export interface ClaspBindings {
    claspPatchVersion: number;
    claspGetInfo(ctx: NativeContext): NativeInfo;
    claspModelSupportsLayerSkip(model: NativeModel): boolean;
    claspSetCapture(ctx: NativeContext, on: boolean): void;
    claspReadHiddenStates(ctx: NativeContext, seqId: number, pos: number): Float32Array | null;
    claspOptimize(ctx: NativeContext, seqId: number, pos: number, hidden: Float32Array, numSkip: number): Promise<NativeOptimizeResult>;
    claspEvalLayerCandidates(ctx: NativeContext, seqId: number, pos: number, layer: number, candidates: Float32Array): Promise<Float32Array>;
    claspDraft(ctx: NativeContext, seqId: number, options: NativeDraftOptions): Promise<NativeDraftResult>;
    claspStep(ctx: NativeContext, seqId: number, options: NativeStepOptions): Promise<NativeStepResult>;
    claspSetLayerSkip(ctx: NativeContext, mask: Uint8Array | null): boolean;
    claspGetLayerSkip(ctx: NativeContext): Uint8Array;
}

const REQUIRED_FUNCTIONS = [
    "claspGetInfo", "claspModelSupportsLayerSkip", "claspSetCapture", "claspReadHiddenStates", "claspOptimize",
    "claspEvalLayerCandidates", "claspDraft", "claspStep", "claspSetLayerSkip", "claspGetLayerSkip",
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

export const llamaOfModel = (model: LlamaModel): Llama => internal(model, "_llama", "model's llama") as Llama;
export const nativeModelOf = (model: LlamaModel): NativeModel => internal(model, "_model", "native model") as NativeModel;
export const nativeContextOf = (context: LlamaContext): NativeContext => internal(context, "_ctx", "native context") as NativeContext;

export function sequenceIdOf(sequence: LlamaContextSequence): number {
    const id = internal(sequence, "_sequenceId", "sequence id");
    if (typeof id !== "number") throw new Error("CLaSp: node-llama-cpp's sequence id is not a number");
    return id;
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
