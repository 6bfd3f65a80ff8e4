// The online controller: it measures what a round really costs on this model and machine
// (verify time by batch size, draft time per token, DP time) and how often drafts are accepted,
// then predicts the speedup of each option with the cost model and picks the best one. In the
// `auto` mode it also picks the draft source, the draft length and the number of skipped layers,
// and turns speculation off while nothing is predicted to beat plain decoding.
import { type Acceptance, bestDraftLength, MovingAverage, type RoundCosts, VerifyCostTable } from "./costModel.ts";
import { defaultPromptLookupOptions } from "./promptLookup.ts";

export type DraftSource = "lookup" | "layerSkip";

export interface ControllerOptions {
    layers: number;
    maxDraftTokens: number;
    /** DP runs every this many rounds; its cost is spread over them. */
    updateInterval: number;
    /** Skip counts `auto` may choose from. */
    skipCandidates: readonly number[];
    /** After this many rounds without speculation, draft once anyway to refresh the estimates. */
    probeEvery: number;
}

/** A kept ÷ seen rate that starts from a prior and decays per observation, so it follows recent drafts. */
class DecayedRate {
    #kept: number;
    #seen: number;
    constructor(prior: number, priorWeight: number, readonly decay: number) {
        this.#kept = prior * priorWeight;
        this.#seen = priorWeight;
    }
    get value(): number {
        return this.#kept / this.#seen;
    }
    record(seen: number, kept: number): void {
        if (seen <= 0) return;
        this.#kept = this.#kept * this.decay + kept;
        this.#seen = this.#seen * this.decay + seen;
    }
}

/**
 * Acceptance of one draft source as a chain (costModel.ts `Acceptance`): how often the first draft
 * token is kept, and how often each later one is kept once the tokens before it were.
 */
export class AcceptanceEstimate {
    readonly #first: DecayedRate;
    readonly #next: DecayedRate;
    #observed = 0;
    constructor(prior: Acceptance, priorWeight = 2, decay = 0.97) {
        this.#first = new DecayedRate(prior.first, priorWeight, decay);
        this.#next = new DecayedRate(prior.next, priorWeight, decay);
    }
    get acceptance(): Acceptance {
        return { first: this.#first.value, next: this.#next.value };
    }
    /** Draft tokens verified so far. */
    get observed(): number {
        return this.#observed;
    }
    /** One round: `drafted` tokens proposed, the first `accepted` of them kept. */
    record(drafted: number, accepted: number): void {
        if (drafted <= 0) return;
        this.#first.record(1, accepted > 0 ? 1 : 0);
        // draft tokens 2..drafted are judged only while every token before them was kept
        this.#next.record(Math.min(drafted - 1, accepted), Math.max(0, accepted - 1));
        this.#observed += drafted;
    }
}

export interface RoundPlan {
    source: DraftSource | "none";
    /** Draft length to ask for (0 with source "none"). */
    gamma: number;
    predictedSpeedup: number;
}

/**
 * Where the estimates start. A copied draft that gets past its first token usually runs on (later
 * tokens were kept 89-97 % of the time on SmolLM2's held-out prompts, whatever the match length);
 * a prior of one rate for both would never try the long lookup drafts that pay.
 */
const priors: Record<DraftSource, Acceptance> = { lookup: { first: 0.5, next: 0.9 }, layerSkip: { first: 0.6, next: 0.6 } };

/**
 * Lookup drafts are learned apart by the length of the match they continue: short (under 4
 * tokens), medium, and long (the lookup's longest compared match). On SmolLM2's held-out prompts
 * the first copied token was kept 46 % of the time after a 2-3 token match, 70 % after 4-7 and
 * 87 % after 8, so one estimate for all would draft the short matches too long and the long too short.
 */
const lookupMatchClasses = [4, defaultPromptLookupOptions.maxMatch] as const;

function lookupMatchClass(matchLength: number): number {
    return lookupMatchClasses.filter((least) => matchLength >= least).length;
}
/** Probes back off up to this multiple of `probeEvery` while speculation keeps not paying. */
const maxProbeBackoff = 16;
/** Draft tokens verified at the current skip count before `auto` may move to another (chooseSkipCount). */
const minDraftTokensToMove = 16;
/** Draft time is summed with this decay per call, so the estimate follows the recent calls. */
const draftDecay = 0.9;
/** Weight of the newest DP time in its moving average. */
const dpCostWeight = 0.3;

export class SpeculationController {
    #verify = new VerifyCostTable();
    #options: ControllerOptions;
    /** One estimate per lookup match class (index: `lookupMatchClass`). */
    readonly #lookup = Array.from({ length: lookupMatchClasses.length + 1 }, () => new AcceptanceEstimate(priors.lookup));
    readonly #layerSkip = new Map<number, AcceptanceEstimate>();
    readonly #draftTime = new Map<number, { ms: number; tokens: number }>();
    #dpMs = new MovingAverage(dpCostWeight);
    #roundsSinceSpeculation = 0;
    /**
     * Rounds to wait before the next probe: doubles after each probe that did not bring speculation
     * back, and drops to none after a probe that was kept whole (the estimate is still catching up).
     */
    #probeInterval: number;
    /** The last plan was a probe. */
    #probing = false;

    constructor(options: ControllerOptions) {
        if (!(options.layers >= 1)) throw new Error(`controller needs a positive layer count, got ${options.layers}`);
        this.#options = options;
        this.#probeInterval = options.probeEvery;
    }

    /** New draft cap, DP interval or skip counts to explore from the settings; the measurements are kept. */
    reconfigure(options: Pick<ControllerOptions, "maxDraftTokens" | "updateInterval" | "skipCandidates">): void {
        this.#options = { ...this.#options, ...options };
    }

    /** Verify cost by batch size (one-token steps are batch size 1). */
    get verify(): VerifyCostTable {
        return this.#verify;
    }

    /** Forgets every measured cost (the thread counts changed); acceptance estimates are kept. */
    restartCosts(): void {
        this.#verify = new VerifyCostTable();
        this.#draftTime.clear();
        this.#dpMs = new MovingAverage(dpCostWeight);
    }

    /**
     * Costs measured before any request (threads per phase, see threadPlan.ts): a plain step, verify
     * batches by size, a layer-skip draft token and a DP. Online measurements take over from there.
     */
    seedCosts(costs: { stepMs: number; batchMs: Record<number, number>; draftTokenMs?: { skipCount: number; ms: number }; dpMs?: number }): void {
        this.verify.record(1, costs.stepMs);
        for (const [n, ms] of Object.entries(costs.batchMs)) this.verify.record(Number(n), ms);
        if (costs.draftTokenMs) this.recordDraft(costs.draftTokenMs.skipCount, 1, costs.draftTokenMs.ms);
        if (costs.dpMs !== undefined) this.recordDp(costs.dpMs);
    }

    recordVerify(batchSize: number, ms: number): void {
        this.verify.record(batchSize, ms);
    }

    /** A layer-skip draft call; calls that returned no token (early exit) count too: their time is spent all the same. */
    recordDraft(skipCount: number, draftedTokens: number, ms: number): void {
        let sums = this.#draftTime.get(skipCount);
        if (sums === undefined) this.#draftTime.set(skipCount, (sums = { ms: 0, tokens: 0 }));
        sums.ms = sums.ms * draftDecay + ms;
        sums.tokens = sums.tokens * draftDecay + draftedTokens;
    }

    recordDp(ms: number): void {
        this.#dpMs.add(ms);
    }

    /** A verified round; `matchLength`: the length of the match a lookup draft continued. */
    recordRound(source: DraftSource | "none", skipCount: number, drafted: number, accepted: number, matchLength = 0): void {
        if (source === "none") {
            this.#roundsSinceSpeculation++;
            return;
        }
        this.#roundsSinceSpeculation = 0;
        this.#estimate(source, skipCount, matchLength).record(drafted, accepted);
        if (this.#probing) this.#probeInterval = accepted === drafted ? 0 : Math.max(this.#probeInterval, this.#options.probeEvery);
        this.#probing = false;
    }

    acceptance(source: DraftSource, skipCount: number, matchLength = 0): Acceptance {
        return this.#estimate(source, skipCount, matchLength).acceptance;
    }

    /** Cost of one layer-skip draft token relative to a plain step (c), from measurements or L−M/L. */
    draftCost(skipCount: number): number {
        const step = this.verify.stepMs;
        const sums = this.#draftTime.get(skipCount);
        if (step !== undefined && sums !== undefined && step > 0) return sums.ms / Math.max(sums.tokens, 0.5) / step;
        return (this.#options.layers - skipCount) / this.#options.layers;
    }

    costs(source: DraftSource, skipCount: number): RoundCosts {
        const step = this.verify.stepMs;
        const dp = this.#dpMs.value;
        const dpPerRound = source === "layerSkip" && step !== undefined && dp !== undefined
            ? dp / step / Math.max(1, this.#options.updateInterval)
            : 0;
        return {
            draftCost: source === "lookup" ? 0 : this.draftCost(skipCount),
            verifyCost: (n) => this.verify.ratio(n),
            overhead: dpPerRound,
        };
    }

    /** The best draft length for one source; `available` caps it (a lookup match may be short). */
    planFor(source: DraftSource, skipCount: number, available = this.#options.maxDraftTokens, matchLength = 0): RoundPlan {
        const cap = Math.min(available, this.#options.maxDraftTokens);
        const { gamma, speedup } = bestDraftLength(this.acceptance(source, skipCount, matchLength), cap, this.costs(source, skipCount));
        return gamma > 0 ? { source, gamma, predictedSpeedup: speedup } : { source: "none", gamma: 0, predictedSpeedup: 1 };
    }

    /** Whether drafting from `source` is predicted to pay, or is due for a probe. */
    worthTrying(source: DraftSource, skipCount: number): boolean {
        return this.planFor(source, skipCount).source !== "none" || this.#probeDue(source, skipCount);
    }

    /**
     * Whether `source` would beat plain decoding if every draft were kept, at the costs measured now.
     * Where it would not (on a 2-core CPU a layer-skip draft token plus its verify row cost more
     * than the token they bring), a probe can only refresh the numbers, so it waits the longest
     * interval: for layer skip each probe also costs a DP of several plain steps.
     */
    #couldPay(source: DraftSource, skipCount: number): boolean {
        return this.#probeLength(source, skipCount) > 0;
    }

    /** The draft length that would pay best if every draft were kept (0: none would). */
    #probeLength(source: DraftSource, skipCount: number): number {
        return bestDraftLength({ first: 1, next: 1 }, this.#options.maxDraftTokens, this.costs(source, skipCount)).gamma;
    }

    #probeDue(source: DraftSource, skipCount: number): boolean {
        const interval = this.#couldPay(source, skipCount) ? this.#probeInterval : this.#options.probeEvery * maxProbeBackoff;
        return this.#roundsSinceSpeculation >= interval;
    }

    /**
     * Picks the round's draft: the source with the best predicted speedup above 1, or none. When
     * nothing has been tried for a while (`probeEvery` rounds, doubling while probes keep failing;
     * the longest interval for a source that could not pay even with every draft kept), the first
     * candidate due drafts anyway: estimates only move when drafts are verified. A probe is as
     * long as the draft that would pay best if every token were kept (one token where none
     * would): one-token probes teach only how often a first token is kept, so a pessimistic
     * estimate of the later ones would never be corrected and long drafts never tried. After a
     * probe kept whole the next one comes at once, until the estimate pays or a probe fails.
     */
    plan(candidates: { source: DraftSource; skipCount: number; available: number; matchLength?: number }[]): RoundPlan {
        const open = candidates.filter((candidate) => candidate.available > 0);
        let best: RoundPlan = { source: "none", gamma: 0, predictedSpeedup: 1 };
        for (const { source, skipCount, available, matchLength } of open) {
            const plan = this.planFor(source, skipCount, available, matchLength);
            if (plan.predictedSpeedup > best.predictedSpeedup) best = plan;
        }
        this.#probing = false;
        if (best.source !== "none") {
            this.#probeInterval = this.#options.probeEvery;
            return best;
        }
        // only when nothing pays: the probe check prices every candidate once more with every draft kept
        const probe = open.find(({ source, skipCount }) => this.#probeDue(source, skipCount));
        if (probe) {
            this.#probeInterval = Math.min(this.#probeInterval * 2, this.#options.probeEvery * maxProbeBackoff);
            this.#probing = true;
            const gamma = Math.max(1, Math.min(probe.available, this.#probeLength(probe.source, probe.skipCount)));
            return { source: probe.source, gamma, predictedSpeedup: 1 };
        }
        return best;
    }

    /**
     * The skip count for the next DP (auto mode). Unmeasured counts borrow the current one's
     * numbers, scaled: the rejection rate with the number of skipped layers, the draft cost with
     * the number of layers kept. It moves only once the current count has been measured on
     * `minDraftTokensToMove` draft tokens: before that its acceptance is mostly the prior, and
     * scaled priors make a count that skips more layers look cheaper and barely worse, so a move
     * (which costs a DP) would chase a guess.
     */
    chooseSkipCount(current: number): number {
        const L = this.#options.layers;
        const currentAcceptance = this.acceptance("layerSkip", current);
        const currentCost = this.draftCost(current);
        if ((this.#layerSkip.get(current)?.observed ?? 0) < minDraftTokensToMove) return current;
        let bestCount = current;
        let bestSpeedup = -Infinity;
        for (const count of new Set([current, ...this.#options.skipCandidates])) {
            if (count < 1 || count >= L) continue;
            const measured = this.#layerSkip.get(count);
            const rejections = count / Math.max(1, current);
            const acceptance = measured && measured.observed > 0
                ? measured.acceptance
                : { first: Math.max(0, 1 - (1 - currentAcceptance.first) * rejections), next: Math.max(0, 1 - (1 - currentAcceptance.next) * rejections) };
            const costs = this.costs("layerSkip", count);
            if (!this.#draftTime.has(count))
                costs.draftCost = currentCost * (L - count) / Math.max(1, L - current);
            const { speedup } = bestDraftLength(acceptance, this.#options.maxDraftTokens, costs);
            if (speedup > bestSpeedup + 1e-9) {
                bestSpeedup = speedup;
                bestCount = count;
            }
        }
        return bestCount;
    }

    #estimate(source: DraftSource, skipCount: number, matchLength: number): AcceptanceEstimate {
        if (source === "lookup") return this.#lookup[lookupMatchClass(matchLength)]!;
        let estimate = this.#layerSkip.get(skipCount);
        if (estimate === undefined) this.#layerSkip.set(skipCount, (estimate = new AcceptanceEstimate(priors.layerSkip)));
        return estimate;
    }

}

/** Distinct skip counts around the configured ratio that `auto` explores. */
export function skipCandidates(layers: number, skipRatio: number): number[] {
    const ratios = [0.25, 0.375, 0.5, 0.625, skipRatio];
    const counts = ratios.map((ratio) => Math.round(ratio * layers)).filter((count) => count >= 1 && count < layers);
    return [...new Set(counts)].sort((a, b) => a - b);
}

/** M = round(skipRatio · L), kept within 1..L−1 (skipping every layer is refused natively). */
export function skipCountFor(layers: number, skipRatio: number): number {
    if (!(skipRatio >= 0 && skipRatio <= 0.95)) throw new Error(`skip ratio must be within 0..0.95, got ${skipRatio}`);
    return Math.min(layers - 1, Math.max(1, Math.round(skipRatio * layers)));
}
