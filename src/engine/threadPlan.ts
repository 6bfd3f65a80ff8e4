// Threads per phase. A one-token decode and a verify batch scale differently with threads (on a
// 2-core VM one token is fastest on 1 thread and a 6-token batch on 2), and llama.cpp keeps
// n_threads (one-token decodes) apart from n_threads_batch (larger batches). This module measures,
// per model and context, the cost of each phase at every thread count the machine allows and names
// the fastest count for each phase:
//   plain  - one full-model token (plain decoding, the token after a verify)
//   draft  - one token with the draft's layers skipped
//   verify - one batch of [pending, ...draft] with logits on every row
//   dp     - one layer-selection DP (native `optimize`)
// Measurements use raw decodes of the patched addon (AddonClaspThreads.cpp) at the end of the
// sequence, each removed again: the sequence's committed tokens are never touched.
import { availableParallelism } from "node:os";
import type { LlamaContext, LlamaContextSequence, Token } from "node-llama-cpp";
import { claspBindingsOf, nativeContextOf, sequenceIdOf, withContextLock, type NativeContext } from "./native/bindings.ts";
import type { ClaspNative } from "./native/index.ts";
import { median } from "./median.ts";

export type ThreadPhase = "plain" | "draft" | "verify" | "dp";

/** Median costs at one thread count, in ms. */
export interface ThreadCosts {
    threads: number;
    /** One full-model token. */
    tokenMs: number;
    /** One decode of n tokens (logits on every row), by n. */
    batchMs: Record<number, number>;
    /** One token with the draft mask; absent without a mask. */
    draftTokenMs?: number;
    /** One DP; absent without native layer skip. */
    dpMs?: number;
}

export interface ThreadPlan {
    /** The fastest thread count of each phase (fewer threads when within `tieShare` of the fastest). */
    threads: Record<ThreadPhase, number>;
    /** The batch sizes the verify choice was measured at. */
    batchSizes: number[];
    costs: ThreadCosts[];
}

export interface ThreadPlanOptions {
    /** Thread counts to try; default 1..availableParallelism(). */
    threadCounts?: number[];
    /** Verify batch sizes (pending + drafts); default [2, 5, 9]. */
    batchSizes?: number[];
    /** Timed decodes per measurement (after one untimed warm-up); the median is kept. Default 5. */
    repeats?: number;
    /** Layer-skip primitives: with them the draft and DP phases are measured too. */
    native?: ClaspNative;
    /** The draft's skip mask (1 = skip); default: every other layer. */
    draftMask?: Uint8Array;
    /** Layers the DP skips; default: the mask's count. */
    dpSkip?: number;
    /** A faster count must beat a smaller one by more than this share; default 0.02. */
    tieShare?: number;
    /** Stops the measurement between two decodes (an AbortError). */
    signal?: AbortSignal;
}

interface ThreadBindings {
    claspSetThreads(ctx: NativeContext, threads: number, threadsBatch: number): void;
    claspGetThreads(ctx: NativeContext): { threads: number; threadsBatch: number };
    claspTimeDecode(ctx: NativeContext, seqId: number, startPos: number, tokens: Uint32Array, repeats: number): Promise<Float64Array>;
}

function threadBindingsOf(context: LlamaContext): ThreadBindings {
    const bindings = claspBindingsOf(context.model.llama) as unknown as Partial<ThreadBindings>;
    if (typeof bindings.claspSetThreads !== "function" || typeof bindings.claspTimeDecode !== "function" || typeof bindings.claspGetThreads !== "function")
        throw new Error("the loaded CLaSp build has no thread exports (claspSetThreads, claspGetThreads, claspTimeDecode): rebuild with `npm run build:native`");
    return bindings as ThreadBindings;
}

/** Sets one-token and batch thread counts of a context apart (node-llama-cpp sets both alike). */
export function setContextThreads(context: LlamaContext, threads: number, threadsBatch: number): void {
    threadBindingsOf(context).claspSetThreads(nativeContextOf(context), threads, threadsBatch);
}

/** The smallest thread count whose cost is within `tieShare` of the cheapest. */
export function fastestThreads(costs: { threads: number; ms: number }[], tieShare: number): number {
    if (costs.length === 0) throw new Error("no measurements to choose from");
    const best = Math.min(...costs.map((cost) => cost.ms));
    return [...costs].sort((a, b) => a.threads - b.threads).find((cost) => cost.ms <= best * (1 + tieShare))!.threads;
}

function everyOtherLayer(layers: number): Uint8Array {
    return Uint8Array.from({ length: layers }, (_, layer) => (layer % 2 === 1 && layer < layers - 1 ? 1 : 0));
}

/**
 * A draft mask that skips `count` layers spread evenly over the model, first and last layer kept
 * (they are rarely skipped): what a draft of that skip count costs does not depend on which layers.
 */
export function spreadSkipMask(layers: number, count: number): Uint8Array {
    const inner = layers - 2;
    if (!(Number.isInteger(count) && count >= 0 && count <= inner)) throw new Error(`cannot skip ${count} of the ${inner} inner layers`);
    const mask = new Uint8Array(layers);
    for (let k = 0; k < count; k++) mask[1 + Math.floor(((k + 0.5) * inner) / count)] = 1;
    return mask;
}

/** A decode at the end of the sequence, removed again: why a measurement could not run there. */
export function roomForMeasurement(sequence: LlamaContextSequence, batchSizes: number[] = defaultBatchSizes): string | undefined {
    if (sequence.contextTokens.length === 0) return "the sequence holds no prompt yet";
    if (sequence.nextTokenIndex + Math.max(1, ...batchSizes) >= sequence.contextSize) return "the context has no room for the measurement batches";
    return undefined;
}

const defaultBatchSizes = [2, 5, 9];

/**
 * The costs of every phase at one thread count on `sequence` (which must hold a prompt): one decode
 * per call, so that `signal` stops the measurement within one decode. The context's thread counts
 * and the sequence are left as they were. Run it while nothing else decodes on the context.
 */
export async function measureThreadCosts(
    context: LlamaContext, sequence: LlamaContextSequence, threads: number, options: Omit<ThreadPlanOptions, "threadCounts" | "tieShare"> = {},
): Promise<ThreadCosts> {
    const bindings = threadBindingsOf(context);
    const ctx = nativeContextOf(context);
    const seqId = sequenceIdOf(sequence);
    const { signal } = options;
    const batchSizes = options.batchSizes ?? defaultBatchSizes;
    const noRoom = roomForMeasurement(sequence, batchSizes);
    if (noRoom) throw new Error(`cannot measure thread costs: ${noRoom}`);
    const startPos = sequence.nextTokenIndex;
    const repeats = options.repeats ?? 5;
    const native = options.native?.info.supported ? options.native : undefined;
    const mask = native ? options.draftMask ?? everyOtherLayer(native.info.nLayer) : undefined;
    const dpSkip = options.dpSkip ?? (mask ? mask.reduce((sum, bit) => sum + bit, 0) : 0);
    const maxBatch = Math.max(1, ...batchSizes);
    // tokens from the prompt itself, so the decodes see realistic inputs
    const tail = sequence.contextTokens.slice(-maxBatch);
    const probe = Uint32Array.from({ length: maxBatch }, (_, i) => tail[i % tail.length]!);
    // one untimed warm-up, then `repeats` timed decodes, each its own call
    const timed = async (run: () => Promise<number>) => {
        const ms: number[] = [];
        for (let i = 0; i <= repeats; i++) {
            signal?.throwIfAborted();
            ms.push(await run());
        }
        return median(ms.slice(1));
    };
    const timeDecode = (n: number) => timed(async () =>
        (await withContextLock(context, () => bindings.claspTimeDecode(ctx, seqId, startPos, probe.subarray(0, n), 1)))[0]!);

    const previous = bindings.claspGetThreads(ctx);
    try {
        // the DP target: x_0..x_L of one more token, captured by a decode that is removed right after
        let hidden: Float32Array | null = null;
        if (native && dpSkip > 0) {
            native.setCapture(true);
            try {
                await sequence.evaluateWithoutGeneratingNewTokens([probe[0]! as Token]);
                hidden = native.readHiddenStates(startPos);
            } finally {
                native.setCapture(false);
                await sequence.eraseContextTokenRanges([{ start: startPos, end: sequence.nextTokenIndex }]);
            }
        }
        bindings.claspSetThreads(ctx, threads, threads);
        const cost: ThreadCosts = { threads, tokenMs: await timeDecode(1), batchMs: {} };
        for (const n of batchSizes) cost.batchMs[n] = await timeDecode(n);
        if (native && mask) {
            native.setLayerSkip(mask);
            try {
                cost.draftTokenMs = await timeDecode(1);
            } finally {
                native.setLayerSkip(null);
            }
        }
        if (native && hidden) {
            const target = hidden;
            cost.dpMs = await timed(async () => (await native.optimize(startPos, target, dpSkip)).ms);
        }
        return cost;
    } finally {
        bindings.claspSetThreads(ctx, previous.threads, previous.threadsBatch);
    }
}

/** The fastest count of each phase among measured costs (fewer threads when within `tieShare`). */
export function planFromCosts(costs: ThreadCosts[], tieShare = 0.02): ThreadPlan {
    if (costs.length === 0) throw new Error("no thread costs to plan from");
    const batchSizes = Object.keys(costs[0]!.batchMs).map(Number);
    const choose = (ms: (cost: ThreadCosts) => number | undefined, fallback: number) => {
        const measured = costs.flatMap((cost) => { const value = ms(cost); return value === undefined ? [] : [{ threads: cost.threads, ms: value }]; });
        return measured.length > 0 ? fastestThreads(measured, tieShare) : fallback;
    };
    const plain = choose((cost) => cost.tokenMs, costs[0]!.threads);
    return {
        threads: {
            plain,
            draft: choose((cost) => cost.draftTokenMs, plain),
            // every verify size weighs the same: the sum of their costs
            verify: choose((cost) => batchSizes.reduce((sum, n) => sum + cost.batchMs[n]!, 0), plain),
            dp: choose((cost) => cost.dpMs, plain),
        },
        batchSizes,
        costs,
    };
}

/** Measures every phase at every thread count (`measureThreadCosts` per count) and returns the plan. */
export async function measureThreadPlan(context: LlamaContext, sequence: LlamaContextSequence, options: ThreadPlanOptions = {}): Promise<ThreadPlan> {
    const threadCounts = options.threadCounts ?? Array.from({ length: availableParallelism() }, (_, i) => i + 1);
    const costs: ThreadCosts[] = [];
    for (const threads of threadCounts) costs.push(await measureThreadCosts(context, sequence, threads, options));
    return planFromCosts(costs, options.tieShare);
}

/**
 * Makes node-llama-cpp's own decodes follow the plan: one-token steps (plain decoding) at the plain
 * count, batches (a prompt) at the verify count. node-llama-cpp 3.21.1 sets both llama.cpp counts to
 * the context's ideal thread count before a decode whenever the one-token count differs from it
 * (AddonContext::SetThreads), so the ideal count becomes the plain one; the batch count set here
 * then survives. Native rounds set their own counts per phase (PhaseThreads).
 */
export function applyThreadPlan(context: LlamaContext, plan: ThreadPlan): void {
    const internals = context as unknown as { _idealThreads: number; _minThreads: number; _freeReservedThreads(): void };
    if (typeof internals._idealThreads !== "number" || typeof internals._freeReservedThreads !== "function")
        throw new Error("node-llama-cpp's context has no ideal thread count to set (a version other than 3.21.1?)");
    internals._idealThreads = plan.threads.plain;
    internals._minThreads = Math.min(internals._minThreads, plan.threads.plain);
    // the thread reservation is made from the ideal count: the next decode reserves again
    internals._freeReservedThreads();
    setContextThreads(context, plan.threads.plain, plan.threads.verify);
}
