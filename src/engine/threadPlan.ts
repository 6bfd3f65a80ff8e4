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
 * Measures every phase at every thread count on `sequence` (which must hold at least one token) and
 * returns the plan. The context's thread counts are restored afterwards. Run it while nothing else
 * decodes on the context.
 */
export async function measureThreadPlan(context: LlamaContext, sequence: LlamaContextSequence, options: ThreadPlanOptions = {}): Promise<ThreadPlan> {
    const bindings = threadBindingsOf(context);
    const ctx = nativeContextOf(context);
    const seqId = sequenceIdOf(sequence);
    const startPos = sequence.nextTokenIndex;
    const history = sequence.contextTokens;
    if (history.length === 0) throw new Error("measureThreadPlan needs a sequence that holds a prompt");
    const threadCounts = options.threadCounts ?? Array.from({ length: availableParallelism() }, (_, i) => i + 1);
    const batchSizes = options.batchSizes ?? [2, 5, 9];
    const repeats = options.repeats ?? 5;
    const tieShare = options.tieShare ?? 0.02;
    const native = options.native?.info.supported ? options.native : undefined;
    const mask = native ? options.draftMask ?? everyOtherLayer(native.info.nLayer) : undefined;
    const dpSkip = options.dpSkip ?? (mask ? mask.reduce((sum, bit) => sum + bit, 0) : 0);
    const maxBatch = Math.max(1, ...batchSizes);
    if (startPos + maxBatch >= sequence.contextSize) throw new Error("the context has no room for the measurement batches");
    // tokens from the prompt itself, so the decodes see realistic inputs
    const tail = history.slice(-maxBatch);
    const probe = Uint32Array.from({ length: maxBatch }, (_, i) => tail[i % tail.length]!);
    const timeDecode = (n: number) => withContextLock(context, async () =>
        median(await bindings.claspTimeDecode(ctx, seqId, startPos, probe.subarray(0, n), repeats + 1).then((ms) => ms.subarray(1))));

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

    const previous = bindings.claspGetThreads(ctx);
    const costs: ThreadCosts[] = [];
    try {
        for (const threads of threadCounts) {
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
                const runs: number[] = [];
                for (let i = 0; i <= repeats; i++) runs.push((await native.optimize(startPos, hidden, dpSkip)).ms);
                cost.dpMs = median(runs.slice(1));
            }
            costs.push(cost);
        }
    } finally {
        bindings.claspSetThreads(ctx, previous.threads, previous.threadsBatch);
    }

    const choose = (ms: (cost: ThreadCosts) => number | undefined, fallback: number) => {
        const measured = costs.flatMap((cost) => { const value = ms(cost); return value === undefined ? [] : [{ threads: cost.threads, ms: value }]; });
        return measured.length > 0 ? fastestThreads(measured, tieShare) : fallback;
    };
    const plain = choose((cost) => cost.tokenMs, threadCounts[0]!);
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
