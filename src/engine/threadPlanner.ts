// Threads per phase in the running engine (how a plan is measured and chosen: threadPlan.ts). A plan
// needs a real prompt in a sequence, so it is measured after a request, in idle time, one thread
// count at a time: a request that arrives meanwhile stops the measurement within one decode, and
// that count is measured again in the next idle spell. Until the plan is complete every phase runs
// at the context's own count.
import type { LlamaContext, LlamaContextSequence } from "node-llama-cpp";
import type { ClaspNative } from "./native/index.ts";
import { measureThreadCosts, planFromCosts, spreadSkipMask, type ThreadCosts, type ThreadPlan, type ThreadPlanOptions } from "./threadPlan.ts";

export class ThreadPlanner {
    readonly #costs: ThreadCosts[] = [];
    #plan?: ThreadPlan;

    /** `counts`: the thread counts to choose among, at least two. */
    constructor(readonly counts: readonly number[]) {
        if (counts.length < 2 || counts.some((count) => !(Number.isInteger(count) && count >= 1)))
            throw new Error(`a thread plan chooses among two or more positive thread counts, got [${counts.join(", ")}]`);
    }

    /** The plan, once every count is measured. */
    get plan(): ThreadPlan | undefined {
        return this.#plan;
    }

    /**
     * Measures the next count on `sequence` (which must hold a prompt); returns the plan once the last
     * one is measured. `skipCount` is the DP's and the draft's (the user's skip ratio).
     */
    async measureNext(
        context: LlamaContext, sequence: LlamaContextSequence, layerSkip: { native: ClaspNative; skipCount: number } | undefined, signal: AbortSignal,
    ): Promise<ThreadPlan | undefined> {
        if (this.#plan) return this.#plan;
        const threads = this.counts[this.#costs.length]!;
        let draft: Pick<ThreadPlanOptions, "native" | "draftMask" | "dpSkip"> = {};
        if (layerSkip) {
            // the DP may skip every layer but one; a spread draft mask keeps the first and the last
            const layers = layerSkip.native.info.nLayer;
            const skipCount = Math.min(layerSkip.skipCount, layers - 2);
            if (skipCount >= 1) draft = { native: layerSkip.native, draftMask: spreadSkipMask(layers, skipCount), dpSkip: skipCount };
        }
        this.#costs.push(await measureThreadCosts(context, sequence, threads, { signal, ...draft }));
        if (this.#costs.length === this.counts.length) this.#plan = planFromCosts(this.#costs);
        return this.#plan;
    }
}
