// The CLaSp native API for one (context, sequence), over the patched addon. Every call that decodes
// runs under node-llama-cpp's own context lock, so it never races node-llama-cpp's batch dispatch.
import type { LlamaContext, LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";
import {
    appendDecodedTokens, claspBindingsOf, llamaOfModel, nativeContextOf, nativeModelOf, sequenceEndsCleanly, sequenceIdOf, withContextLock,
    type ClaspBindings, type DraftSettings, type NativeContext, type NativeDraftOptions, type NativeDraftResult, type NativeInfo,
    type NativeOptimizeResult, type NativeRoundResult, type OptimizeTrace, type PhaseThreads, type TargetSampling,
} from "./bindings.ts";
import { ClaspArgumentError, ClaspUnsupportedError } from "./errors.ts";

export type ClaspInfo = NativeInfo;
export type { OptimizeTrace, PhaseThreads, TargetSampling };

export interface DraftOptions extends DraftSettings {
    /** Tokens not yet in the real KV cache (usually the last committed token), evaluated at startPos... */
    pending: number[];
}

/** The addon's result with the drafted tokens as plain numbers. */
export interface DraftResult extends Omit<NativeDraftResult, "tokens"> {
    tokens: number[];
}

export type OptimizeResult = NativeOptimizeResult;

export interface RoundOptions {
    /** The last committed token; the sequence must end right before it (nextTokenIndex = startPos). */
    pending: Token;
    startPos: number;
    /** A ready draft (prompt lookup), verified as is. */
    proposal?: readonly Token[];
    /** Instead of a proposal: a layer-skip draft of up to `maxTokens` tokens with `mask` skipped. */
    layerSkip?: { mask: Uint8Array; maxTokens: number; minConfidence: number };
    /** Absent: greedy. */
    sampling?: TargetSampling;
    /** Capture during the verify and re-select `numSkip` layers from the last accepted token (or from `pending`). */
    dp?: { numSkip: number; atPending?: boolean };
    threads?: PhaseThreads;
}

export interface RoundResult extends Omit<NativeRoundResult, "draft" | "next"> {
    draft: Token[];
    next: Token;
}

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
    /** With `trace`, also every cell's decision and cosine (tests compare them with a reference DP). */
    optimize(pos: number, hidden: Float32Array, numSkip: number, trace: true): Promise<OptimizeResult & OptimizeTrace>;
    draft(options: DraftOptions): Promise<DraftResult>;
    /**
     * One speculative round in one thread-pool hop under one lock: draft (or take the proposal), verify
     * [pending, ...draft] in the sequence, accept, remove the rejected cells, and with `dp` re-select the
     * skipped layers. The sequence then ends after pending and the accepted draft tokens (node-llama-cpp's
     * view of it included); `next` is not evaluated yet.
     */
    round(options: RoundOptions): Promise<RoundResult>;
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

function checkTokens(tokens: unknown, nVocab: number, what: string, emptyAllowed = false): Uint32Array {
    if (!Array.isArray(tokens) || (tokens.length === 0 && !emptyAllowed))
        throw new ClaspArgumentError(`${what} must be a non-empty array of token ids`);
    for (const token of tokens)
        if (!Number.isInteger(token) || token < 0 || token >= nVocab)
            throw new ClaspArgumentError(`${what} token ${String(token)} is not a token id of this model`);
    return Uint32Array.from(tokens as number[]);
}

function toNativeDraft(options: DraftOptions, nVocab: number): NativeDraftOptions {
    if (options == null || typeof options !== "object") throw new ClaspArgumentError("draft options must be an object");
    return {
        pending: checkTokens(options.pending, nVocab, "pending"),
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
    private readonly seqId: number;

    constructor(
        private readonly bindings: ClaspBindings,
        private readonly context: LlamaContext,
        private readonly ctx: NativeContext,
        private readonly sequence: LlamaContextSequence,
    ) {
        this.info = bindings.claspGetInfo(ctx);
        this.seqId = sequenceIdOf(sequence);
    }

    setCapture(on: boolean): void {
        this.bindings.claspSetCapture(this.ctx, on);
    }

    readHiddenStates(pos: number): Float32Array | null {
        return this.bindings.claspReadHiddenStates(this.ctx, this.seqId, pos);
    }

    optimize(pos: number, hidden: Float32Array, numSkip: number, trace?: true): Promise<OptimizeResult & OptimizeTrace> {
        return this.locked(() => this.bindings.claspOptimize(this.ctx, this.seqId, pos, hidden, numSkip, trace === true)) as Promise<OptimizeResult & OptimizeTrace>;
    }

    async draft(options: DraftOptions): Promise<DraftResult> {
        const native = toNativeDraft(options, this.info.nVocab);
        return this.locked(async () => withTokenArray(await this.bindings.claspDraft(this.ctx, this.seqId, native)));
    }

    async round(options: RoundOptions): Promise<RoundResult> {
        const { pending, startPos, proposal, layerSkip, sampling, dp, threads } = options;
        if (proposal && layerSkip) throw new ClaspArgumentError("a round verifies either a proposal or a layer-skip draft, not both");
        const native = {
            pending, startPos, threads, ...sampling,
            proposal: proposal ? checkTokens([...proposal], this.info.nVocab, "proposal", true) : undefined,
            draftMax: layerSkip?.maxTokens ?? 0,
            mask: layerSkip?.mask ?? null,
            minConfidence: layerSkip?.minConfidence ?? 0,
            runDp: dp !== undefined,
            dpAtPending: dp?.atPending ?? false,
            numSkip: dp?.numSkip,
        };
        return this.locked(async () => {
            if (startPos !== this.sequence.nextTokenIndex || !sequenceEndsCleanly(this.sequence))
                throw new ClaspArgumentError(`a round must start at the sequence's end (${this.sequence.nextTokenIndex}), not at ${startPos}`);
            const result = await this.bindings.claspRound(this.ctx, this.seqId, native);
            const draft = Array.from(result.draft) as Token[];
            appendDecodedTokens(this.sequence, [pending, ...draft.slice(0, result.accepted)]);
            return { ...result, draft, next: result.next as Token };
        });
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
        throw new ClaspUnsupportedError("CLaSp needs a unified KV cache, and this build splits it per sequence (it predates native/build.mjs's kv_unified edit): run npm run build:native");
    // start from a known capture state (the addon keys it by native context address)
    bindings.claspSetCapture(ctx, false);
    return new ClaspNativeImpl(bindings, context, ctx, sequence);
}
