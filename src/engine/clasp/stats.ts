// Speculation statistics: per request (returned with each decode) and rolling over recent
// requests (streamed as `stats` events). The speedup is measured, never assumed: it divides
// the decoder's own tokens/s by the tokens/s of plain one-token steps timed on the same model
// and machine (calibration steps the decoder interleaves, refreshed as it runs).
import type { RequestSpeculationStats, SpeculationMode, SpeculationStats } from "../protocol.ts";
import { MovingAverage } from "./costModel.ts";

export class RequestStatsRecorder {
    rounds = 0;
    drafted = 0;
    accepted = 0;
    dpRuns = 0;
    dpMs = 0;
    skipSet: number[] = [];

    constructor(readonly mode: SpeculationMode) {}

    recordRound(drafted: number, accepted: number): void {
        this.rounds++;
        this.drafted += drafted;
        this.accepted += accepted;
    }

    recordDp(ms: number, skipSet: number[]): void {
        this.dpRuns++;
        this.dpMs += ms;
        this.skipSet = skipSet;
    }

    toStats(): RequestSpeculationStats {
        return {
            mode: this.mode,
            rounds: this.rounds,
            draftedTokens: this.drafted,
            acceptedTokens: this.accepted,
            acceptance: this.drafted > 0 ? this.accepted / this.drafted : 0,
            meanAccepted: this.rounds > 0 ? (this.accepted + this.rounds) / this.rounds : 0,
            dpRuns: this.dpRuns,
            dpMs: this.dpMs,
            skipSet: this.skipSet,
        };
    }
}

export interface FinishedRequest {
    stats: RequestSpeculationStats;
    generatedTokens: number;
    /** Wall time of the decode (prompt excluded). */
    decodeMs: number;
}

/** Indices of the set entries of a skip mask. */
export function skipSetOf(mask: Uint8Array | null | undefined): number[] {
    const set: number[] = [];
    mask?.forEach((skip, layer) => {
        if (skip) set.push(layer);
    });
    return set;
}

export class RollingSpeculationStats {
    readonly #window: FinishedRequest[] = [];
    readonly #plainStepMs = new MovingAverage(0.1);
    #requests = 0;
    #speculating = false;

    constructor(public mode: SpeculationMode, readonly windowSize = 20) {}

    /** One plain decode step (one token, no draft), timed: the calibration baseline. */
    recordPlainStep(ms: number): void {
        this.#plainStepMs.add(ms);
    }

    recordRequest(request: FinishedRequest): void {
        this.#requests++;
        this.#window.push(request);
        if (this.#window.length > this.windowSize) this.#window.shift();
    }

    setSpeculating(value: boolean): void {
        this.#speculating = value;
    }

    get plainTokensPerSecond(): number | null {
        const ms = this.#plainStepMs.value;
        return ms !== undefined && ms > 0 ? 1000 / ms : null;
    }

    snapshot(): SpeculationStats {
        let drafted = 0, accepted = 0, rounds = 0, tokens = 0, ms = 0, dpMs = 0;
        for (const { stats, generatedTokens, decodeMs } of this.#window) {
            drafted += stats.draftedTokens;
            accepted += stats.acceptedTokens;
            rounds += stats.rounds;
            dpMs += stats.dpMs;
            tokens += generatedTokens;
            ms += decodeMs;
        }
        const tokensPerSecond = ms > 0 ? (tokens * 1000) / ms : 0;
        const plain = this.plainTokensPerSecond;
        return {
            mode: this.mode,
            acceptance: drafted > 0 ? accepted / drafted : 0,
            meanAccepted: rounds > 0 ? (accepted + rounds) / rounds : 0,
            tokensPerSecond,
            measuredSpeedup: plain !== null && tokensPerSecond > 0 ? tokensPerSecond / plain : null,
            plainTokensPerSecond: plain,
            dpSharePct: ms > 0 ? (100 * dpMs) / ms : 0,
            skipSet: this.#window.at(-1)?.stats.skipSet ?? [],
            requests: this.#requests,
            speculating: this.#speculating,
        };
    }
}
