// The speculative-decoding cost model (Leviathan et al. 2023), in units of one plain decode step.
// A round drafts γ tokens at cost c each, verifies γ+1 tokens in one batch at cost V(γ+1), and
// emits E(γ) tokens on average. On GPUs V(n) ≈ 1 for small n; on a few CPU cores it grows
// almost linearly, which is why every input here is measured online rather than assumed.

/**
 * Draft acceptance as a chain: `first` is the chance the first draft token is kept, `next` the
 * chance each later one is kept given that every token before it was. One i.i.d. α (first = next)
 * fits layer-skip drafts; prompt-lookup drafts are far more all-or-nothing (a copied line is right
 * to its end or wrong from its start), and an i.i.d. α fitted to them spreads the first token's
 * misses over the whole chain: it overrates short drafts and misjudges how long a draft should be.
 */
export interface Acceptance {
    first: number;
    next: number;
}

/** The i.i.d. case: every draft token kept with probability α. */
export function uniformAcceptance(alpha: number): Acceptance {
    return { first: alpha, next: alpha };
}

/** Expected tokens per round with γ drafts: 1 + first · (1 + next + … + next^(γ−1)); i.i.d.: (1 − α^(γ+1)) / (1 − α). */
export function expectedTokensPerRound({ first, next }: Acceptance, gamma: number): number {
    if (gamma <= 0) return 1;
    const chain = next >= 1 ? gamma : (1 - next ** gamma) / (1 - next);
    return 1 + first * chain;
}

export interface RoundCosts {
    /** Cost of one draft token relative to a plain decode step. */
    draftCost: number;
    /** Cost of verifying n tokens in one batch relative to a plain decode step (V(1) = 1). */
    verifyCost(n: number): number;
    /** Fixed extra cost per round (e.g. the layer-selection DP amortized over its interval). */
    overhead: number;
}

/** Predicted speedup over plain decoding: E / (γc + V(γ+1) + overhead). */
export function predictedSpeedup(acceptance: Acceptance, gamma: number, costs: RoundCosts): number {
    const cost = gamma * costs.draftCost + costs.verifyCost(gamma + 1) + (gamma > 0 ? costs.overhead : 0);
    return expectedTokensPerRound(acceptance, gamma) / cost;
}

/** The draft length in 0..maxGamma with the best predicted speedup (0 = do not speculate). */
export function bestDraftLength(acceptance: Acceptance, maxGamma: number, costs: RoundCosts): { gamma: number; speedup: number } {
    let best = { gamma: 0, speedup: 1 };
    for (let gamma = 1; gamma <= maxGamma; gamma++) {
        const speedup = predictedSpeedup(acceptance, gamma, costs);
        if (speedup > best.speedup) best = { gamma, speedup };
    }
    return best;
}

/** Exponential moving average that reports `undefined` until it has seen a value. */
export class MovingAverage {
    #value: number | undefined;
    constructor(readonly weight: number) {
        if (!(weight > 0 && weight <= 1)) throw new Error(`moving average weight must be in (0, 1], got ${weight}`);
    }
    get value(): number | undefined {
        return this.#value;
    }
    add(sample: number): void {
        if (!Number.isFinite(sample)) return;
        this.#value = this.#value === undefined ? sample : this.#value + this.weight * (sample - this.#value);
    }
}

/**
 * Verify time by batch size, measured. V(n) = T(n) / T(1); sizes never measured are linearly
 * interpolated between measured ones, or extrapolated with the slope of the largest measured
 * pair (a prior slope until two sizes are known).
 */
export class VerifyCostTable {
    readonly #byBatch = new Map<number, MovingAverage>();
    constructor(readonly priorSlope = 0.25, readonly weight = 0.2) {}

    record(batchSize: number, ms: number): void {
        if (!(batchSize >= 1) || !(ms >= 0)) return;
        let average = this.#byBatch.get(batchSize);
        if (average === undefined) this.#byBatch.set(batchSize, (average = new MovingAverage(this.weight)));
        average.add(ms);
    }

    /** Milliseconds of a plain (one-token) step, if known. */
    get stepMs(): number | undefined {
        return this.#byBatch.get(1)?.value ?? this.estimateMs(1);
    }

    ratio(batchSize: number): number {
        if (batchSize <= 1) return 1;
        const step = this.stepMs;
        const ms = this.estimateMs(batchSize);
        if (step === undefined || ms === undefined || step <= 0) return 1 + this.priorSlope * (batchSize - 1);
        return Math.max(1, ms / step);
    }

    /** Estimated milliseconds of one verify batch of this size (undefined before any measurement). */
    estimateMs(batchSize: number): number | undefined {
        const points = [...this.#byBatch.entries()]
            .map(([n, average]) => [n, average.value] as const)
            .filter((point): point is readonly [number, number] => point[1] !== undefined)
            .sort((a, b) => a[0] - b[0]);
        if (points.length === 0) return undefined;
        const exact = points.find(([n]) => n === batchSize);
        if (exact) return exact[1];
        if (points.length === 1) {
            const [n, ms] = points[0]!;
            return ms * (1 + this.priorSlope * (batchSize - 1)) / (1 + this.priorSlope * (n - 1));
        }
        let lower = points[0]!;
        let upper = points[1]!;
        for (let i = 1; i < points.length; i++) {
            lower = points[i - 1]!;
            upper = points[i]!;
            if (upper[0] > batchSize) break;
        }
        const slope = (upper[1] - lower[1]) / (upper[0] - lower[0]);
        return Math.max(0, lower[1] + slope * (batchSize - lower[0]));
    }
}
