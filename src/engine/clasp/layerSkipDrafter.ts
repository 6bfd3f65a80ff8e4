// CLaSp's drafter: the model itself with M layers skipped. The skip set comes from the DP over
// the hidden states of the last accepted token (native `optimize`), re-run after prefill, then
// every `updateInterval` rounds (the paper's sparse persistence) or as soon as acceptance falls
// well below what it was right after the last DP.
import type { Token } from "node-llama-cpp";
import type { ClaspNative } from "../native/index.ts";
import type { DraftProbability } from "./acceptance.ts";
import { skipSetOf } from "./stats.ts";

export interface LayerSkipOptions {
    skipCount: number;
    updateInterval: number;
    /** A fixed skip set (Self-SD-like baseline): the DP never runs. */
    staticMask?: Uint8Array;
}

export interface LayerSkipDraft {
    tokens: Token[];
    /** The draft distribution of each token (sampling only). */
    probabilities?: DraftProbability[];
    ms: number;
}

/** Acceptance after a DP is compared with the first rounds that followed it. */
const baselineRounds = 4;
const dropFactor = 0.6;

export class LayerSkipDrafter {
    #mask: Uint8Array | null;
    #roundsSinceDp = 0;
    #baseline = { drafted: 0, accepted: 0 };
    #recentAcceptance: number | undefined;

    constructor(readonly native: ClaspNative, public options: LayerSkipOptions) {
        const layers = native.info.nLayer;
        if (!(options.skipCount >= 1 && options.skipCount < layers))
            throw new Error(`skip count must be within 1..${layers - 1} for a ${layers}-layer model, got ${options.skipCount}`);
        if (options.staticMask && options.staticMask.length !== layers)
            throw new Error(`static skip mask has ${options.staticMask.length} entries, the model has ${layers} layers`);
        this.#mask = options.staticMask ?? null;
    }

    get mask(): Uint8Array | null {
        return this.#mask;
    }

    get skipSet(): number[] {
        return skipSetOf(this.#mask);
    }

    /** Whether the next verify should capture hidden states for a DP run. */
    get dpDue(): boolean {
        if (this.options.staticMask) return false;
        if (this.#mask === null || this.#roundsSinceDp >= this.options.updateInterval) return true;
        const { drafted, accepted } = this.#baseline;
        if (this.#roundsSinceDp < 2 * baselineRounds || drafted === 0 || this.#recentAcceptance === undefined) return false;
        return this.#recentAcceptance < dropFactor * (accepted / drafted);
    }

    /** Runs the DP on the token at `pos` (captured by the last verify). Returns its time, or null if nothing was captured. */
    async optimize(pos: number): Promise<number | null> {
        const hidden = this.native.readHiddenStates(pos);
        if (hidden === null) return null;
        const result = await this.native.optimize(pos, hidden, this.options.skipCount);
        this.#mask = result.mask;
        this.#roundsSinceDp = 0;
        this.#baseline = { drafted: 0, accepted: 0 };
        this.#recentAcceptance = undefined;
        return result.ms;
    }

    noteRound(drafted: number, accepted: number): void {
        this.#roundsSinceDp++;
        if (drafted === 0) return;
        if (this.#roundsSinceDp <= baselineRounds) {
            this.#baseline.drafted += drafted;
            this.#baseline.accepted += accepted;
        }
        const rate = accepted / drafted;
        this.#recentAcceptance = this.#recentAcceptance === undefined ? rate : this.#recentAcceptance + 0.3 * (rate - this.#recentAcceptance);
    }

    async draft(
        pending: Token,
        startPos: number,
        maxTokens: number,
        minConfidence: number,
        sampling?: { temperature: number; seed: number },
    ): Promise<LayerSkipDraft> {
        if (this.#mask === null || maxTokens <= 0) return { tokens: [], ms: 0 };
        const result = await this.native.draft({
            pending: [pending],
            startPos,
            mask: this.#mask,
            maxTokens,
            minConfidence,
            temperature: sampling?.temperature ?? 0,
            seed: sampling?.seed,
            wantProbabilities: sampling !== undefined,
        });
        const tokens = Array.from(result.tokens) as Token[];
        if (sampling === undefined) return { tokens, ms: result.ms };
        const table = result.probabilities;
        const vocab = this.native.info.nVocab;
        if (!table || table.length < tokens.length * vocab)
            throw new Error("the native draft returned no probabilities for a sampled draft");
        const probabilities = tokens.map((_, i) => truncatedDistribution(table.subarray(i * vocab, (i + 1) * vocab), minConfidence));
        return { tokens, probabilities, ms: result.ms };
    }
}

/**
 * The distribution a drafted token really came from. The native draft drops a sampled token whose
 * probability is below `minConfidence` (and stops), so a token that made it into the draft was
 * drawn from q restricted to {t : q(t) >= minConfidence}, renormalized. Speculative sampling is
 * exact only with that distribution, not with q itself.
 */
export function truncatedDistribution(q: Float32Array, minConfidence: number): DraftProbability {
    if (minConfidence <= 0) return (token) => q[token] ?? 0;
    const threshold = Math.fround(minConfidence); // the native side compares in float32
    let kept = 0;
    for (const value of q) if (value >= threshold) kept += value;
    return (token) => {
        const value = q[token] ?? 0;
        return value >= threshold && kept > 0 ? value / kept : 0;
    };
}
