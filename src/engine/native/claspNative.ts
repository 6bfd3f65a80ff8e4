// The CLaSp native API for one (context, sequence), over the patched addon. Every call that decodes
// runs under node-llama-cpp's own context lock, so it never races node-llama-cpp's batch dispatch.
import type { LlamaContext, LlamaContextSequence, LlamaModel } from "node-llama-cpp";
import {
    claspBindingsOf, llamaOfModel, nativeContextOf, nativeModelOf, sequenceIdOf, withContextLock,
    type ClaspBindings, type DraftSettings, type NativeContext, type NativeDraftOptions, type NativeDraftResult, type NativeInfo,
    type NativeOptimizeResult, type StepOutcome, type StepSettings,
} from "./bindings.ts";
import { ClaspArgumentError, ClaspUnsupportedError } from "./errors.ts";

export type ClaspInfo = NativeInfo;

export interface DraftOptions extends DraftSettings {
    /** Tokens not yet in the real KV cache (usually the last committed token), evaluated at startPos... */
    pending: number[];
}

/** The addon's result with the drafted tokens as plain numbers. */
export interface DraftResult extends Omit<NativeDraftResult, "tokens"> {
    tokens: number[];
}

export type OptimizeResult = NativeOptimizeResult;

export interface StepOptions extends DraftOptions, StepSettings {}
export interface StepResult extends DraftResult, StepOutcome {}

export interface ClaspNative {
    readonly info: ClaspInfo;
    /**
     * Capture x_0..x_L on the following decodes (also node-llama-cpp's). Call only while no decode is in flight.
     * The host buffer is (L+1) * nEmbd floats per batch row: turn it on for short verify batches, not for prompts.
     */
    setCapture(on: boolean): void;
    /** x_0..x_L ((L+1)*nEmbd) of the row at `pos` of the last decoded batch; null if not captured there. No decode. */
    readHiddenStates(pos: number): Float32Array | null;
    optimize(pos: number, hidden: Float32Array, numSkip: number): Promise<OptimizeResult>;
    draft(options: DraftOptions): Promise<DraftResult>;
    /** Read hidden -> optional DP -> draft, in one thread-pool hop under one lock. */
    step(options: StepOptions): Promise<StepResult>;
    /** Layer `layer` on n candidate states at `pos`, each attending to the prefix [0, pos) and itself. */
    evalLayerCandidates(pos: number, layer: number, candidates: Float32Array): Promise<Float32Array>;
    /** Context-wide mask for node-llama-cpp's own decodes: tests and benchmarks only. */
    setLayerSkip(mask: Uint8Array | null): boolean;
    getLayerSkip(): Uint8Array;
}

/** True when the model's architecture honours a layer-skip mask (asks the patched build). */
export function supportsLayerSkip(model: LlamaModel): boolean {
    return claspBindingsOf(llamaOfModel(model)).claspModelSupportsLayerSkip(nativeModelOf(model));
}

function checkTokens(tokens: unknown, nVocab: number): Uint32Array {
    if (!Array.isArray(tokens) || tokens.length === 0)
        throw new ClaspArgumentError("pending must be a non-empty array of token ids");
    for (const token of tokens)
        if (!Number.isInteger(token) || token < 0 || token >= nVocab)
            throw new ClaspArgumentError(`pending token ${String(token)} is not a token id of this model`);
    return Uint32Array.from(tokens as number[]);
}

function toNativeDraft(options: DraftOptions, nVocab: number): NativeDraftOptions {
    if (options == null || typeof options !== "object") throw new ClaspArgumentError("draft options must be an object");
    return {
        pending: checkTokens(options.pending, nVocab),
        startPos: options.startPos,
        mask: options.mask,
        maxTokens: options.maxTokens,
        minConfidence: options.minConfidence,
        temperature: options.temperature,
        seed: options.seed,
        wantProbabilities: options.wantProbabilities ?? false,
    };
}

function withTokenArray<T extends NativeDraftResult>(result: T): Omit<T, "tokens"> & { tokens: number[] } {
    return { ...result, tokens: Array.from(result.tokens) };
}

class ClaspNativeImpl implements ClaspNative {
    readonly info: ClaspInfo;

    constructor(
        private readonly bindings: ClaspBindings,
        private readonly context: LlamaContext,
        private readonly ctx: NativeContext,
        private readonly seqId: number,
    ) {
        this.info = bindings.claspGetInfo(ctx);
    }

    setCapture(on: boolean): void {
        this.bindings.claspSetCapture(this.ctx, on);
    }

    readHiddenStates(pos: number): Float32Array | null {
        return this.bindings.claspReadHiddenStates(this.ctx, this.seqId, pos);
    }

    optimize(pos: number, hidden: Float32Array, numSkip: number): Promise<OptimizeResult> {
        return this.locked(() => this.bindings.claspOptimize(this.ctx, this.seqId, pos, hidden, numSkip));
    }

    async draft(options: DraftOptions): Promise<DraftResult> {
        const native = toNativeDraft(options, this.info.nVocab);
        return this.locked(async () => withTokenArray(await this.bindings.claspDraft(this.ctx, this.seqId, native)));
    }

    async step(options: StepOptions): Promise<StepResult> {
        const native = { ...toNativeDraft(options, this.info.nVocab), readPos: options.readPos, runDp: options.runDp ?? false, numSkip: options.numSkip };
        return this.locked(async () => withTokenArray(await this.bindings.claspStep(this.ctx, this.seqId, native)));
    }

    evalLayerCandidates(pos: number, layer: number, candidates: Float32Array): Promise<Float32Array> {
        return this.locked(() => this.bindings.claspEvalLayerCandidates(this.ctx, this.seqId, pos, layer, candidates));
    }

    setLayerSkip(mask: Uint8Array | null): boolean {
        return this.bindings.claspSetLayerSkip(this.ctx, mask);
    }

    getLayerSkip(): Uint8Array {
        return this.bindings.claspGetLayerSkip(this.ctx);
    }

    private locked<T>(fn: () => Promise<T>): Promise<T> {
        return withContextLock(this.context, fn);
    }
}

/** The CLaSp API for `sequence` of `context`; throws clearly when the build, model or context cannot run it. */
export function createClaspNative(context: LlamaContext, sequence: LlamaContextSequence): ClaspNative {
    if (sequence.context !== context) throw new ClaspArgumentError("the sequence does not belong to this context");
    const bindings = claspBindingsOf(context.model.llama);
    const ctx = nativeContextOf(context);
    const info = bindings.claspGetInfo(ctx);
    if (!info.supported)
        throw new ClaspUnsupportedError(`CLaSp layer skip is not supported for the "${info.architecture}" architecture (supported: llama, qwen2, qwen3, mistral3, granite)`);
    if (!info.kvUnified)
        throw new ClaspUnsupportedError("CLaSp needs a unified KV cache: create the context with `sequences: 1`");
    // start from a known capture state (the addon keys it by native context address)
    bindings.claspSetCapture(ctx, false);
    return new ClaspNativeImpl(bindings, context, ctx, sequenceIdOf(sequence));
}
