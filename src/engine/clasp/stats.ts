// Speculation statistics: per request (returned with each decode) and rolling over recent
// requests (streamed as `stats` events). The speedup is measured, never assumed: each request's
// decode time is compared with the time plain decoding takes for the same output, predicted from
// plain runs timed on the same model and machine (calibration bursts the decoder interleaves, or
// in `off` mode the requests themselves), as they were when that request ran.
import type { DecodeEnd } from "../decoding.ts";
import type { RequestSpeculationStats, SpeculationMode, SpeculationStats } from "../protocol.ts";
import { MovingAverage } from "./costModel.ts";

export class RequestStatsRecorder {
    rounds = 0;
    drafted = 0;
    accepted = 0;
    dpRuns = 0;
    dpMs = 0;

    constructor(readonly mode: SpeculationMode) {}

    recordRound(drafted: number, accepted: number): void {
        this.rounds++;
        this.drafted += drafted;
        this.accepted += accepted;
    }

    recordDp(ms: number): void {
        this.dpRuns++;
        this.dpMs += ms;
    }

    /** `skipSet`: the one the drafts use when the request ends, whether or not this request re-selected it. */
    toStats(skipSet: number[] = []): RequestSpeculationStats {
        return {
            mode: this.mode,
            rounds: this.rounds,
            draftedTokens: this.drafted,
            acceptedTokens: this.accepted,
            acceptance: this.drafted > 0 ? this.accepted / this.drafted : 0,
            meanAccepted: this.rounds > 0 ? (this.accepted + this.rounds) / this.rounds : 0,
            dpRuns: this.dpRuns,
            dpMs: this.dpMs,
            skipSet,
        };
    }
}

export interface FinishedRequest {
    stats: RequestSpeculationStats;
    generatedTokens: number;
    /** How the decode ended: plain decoding evaluates one token more after an end of generation or an abort. */
    end: DecodeEnd;
    /** Wall time of the decode (prompt excluded). */
    decodeMs: number;
}

/**
 * One timed run of plain decoding: `steps` one-token evaluations from one `evaluate` call, its
 * time split into the steps after the first (from the first token to the end of the last step)
 * and the rest (starting the evaluation, the first step, handing the last token over).
 */
export interface PlainRun {
    steps: number;
    fixedMs: number;
    laterMs: number;
}

/**
 * The one-token evaluations plain decoding runs to emit `generated` tokens: one per token, plus
 * the one whose token it computes and drops (the end-of-generation token, or the token it was
 * computing when it noticed the abort).
 */
export function plainDecodeSteps(generated: number, end: DecodeEnd): number {
    return generated + (end === "eog" || end === "abort" ? 1 : 0);
}

/**
 * What plain decoding costs here, learned from timed plain runs. A run costs more than its steps:
 * the first one starts the evaluation, and editor requests are often a handful of tokens, so a
 * run of n steps is predicted as fixed + (n − 1) · step: a short request is compared with a
 * short plain run, not with n steady-state steps.
 */
export class PlainDecodeTiming {
    // Quick to follow the machine's pace (a shared, loaded machine changes it by several times
    // within seconds); the noise of single runs averages out over the window of requests.
    readonly #fixedMs = new MovingAverage(0.25);
    // Later-step time and count averaged apart: their ratio weighs runs by their steps.
    readonly #laterMs = new MovingAverage(0.25);
    readonly #laterSteps = new MovingAverage(0.25);

    record(run: PlainRun): void {
        if (!(run.steps >= 1 && run.fixedMs >= 0 && run.laterMs >= 0)) return;
        this.#fixedMs.add(run.fixedMs);
        // one-step runs say nothing about later steps (averaging in their zeros would fade the step estimate)
        if (run.steps < 2) return;
        this.#laterMs.add(run.laterMs);
        this.#laterSteps.add(run.steps - 1);
    }

    /** Milliseconds of a step after the first; undefined until a run of two or more steps was timed. */
    get stepMs(): number | undefined {
        const steps = this.#laterSteps.value;
        return steps !== undefined ? this.#laterMs.value! / steps : undefined;
    }

    /** Predicted milliseconds of a plain run of `steps` steps; undefined until calibrated. */
    predictMs(steps: number): number | undefined {
        if (steps <= 0) return 0;
        const fixed = this.#fixedMs.value;
        if (fixed === undefined) return undefined;
        if (steps === 1) return fixed;
        const step = this.stepMs;
        return step === undefined ? undefined : fixed + (steps - 1) * step;
    }
}

/** Indices of the set entries of a skip mask. */
export function skipSetOf(mask: Uint8Array | null | undefined): number[] {
    const set: number[] = [];
    mask?.forEach((skip, layer) => {
        if (skip) set.push(layer);
    });
    return set;
}

interface WindowEntry extends FinishedRequest {
    /** Plain decoding's predicted time for the same output, when this request ran (undefined before calibration). */
    plainMs?: number;
}

export class RollingSpeculationStats {
    readonly #window: WindowEntry[] = [];
    #plain = new PlainDecodeTiming();
    #mode: SpeculationMode;
    #requests = 0;
    #speculating = false;

    constructor(mode: SpeculationMode, readonly windowSize = 20) {
        this.#mode = mode;
    }

    get mode(): SpeculationMode {
        return this.#mode;
    }

    /** A new mode starts a new window: the stats describe the mode they are labelled with. */
    set mode(mode: SpeculationMode) {
        if (mode !== this.#mode) this.#window.length = 0;
        this.#mode = mode;
    }

    /** A timed plain run (calibration burst, or a whole `off`-mode request): the baseline. */
    recordPlainRun(run: PlainRun): void {
        this.#plain.record(run);
    }

    /**
     * A speculative request, compared with plain decoding as timed now (not as averaged over the
     * window), so a machine that speeds up or slows down skews neither side.
     */
    recordRequest(request: FinishedRequest): void {
        this.#push({ ...request, plainMs: this.#plain.predictMs(plainDecodeSteps(request.generatedTokens, request.end)) });
    }

    /**
     * A request decoded plainly (`off` mode): a calibration run for the other modes, and its own
     * plain time, measured rather than predicted.
     */
    recordPlainRequest(request: FinishedRequest, laterMs: number): void {
        const steps = plainDecodeSteps(request.generatedTokens, request.end);
        this.#plain.record({ steps, fixedMs: request.decodeMs - laterMs, laterMs });
        this.#push({ ...request, plainMs: request.decodeMs });
    }

    #push(entry: WindowEntry): void {
        this.#requests++;
        this.#window.push(entry);
        if (this.#window.length > this.windowSize) this.#window.shift();
    }

    /**
     * The sequence went to another caller (a window closed, a new one took its sequence): the
     * stats start again, as they describe the caller's own requests. The plain-decoding baseline
     * is the model's on this machine, so it is kept.
     */
    startNewCaller(): void {
        this.#window.length = 0;
        this.#requests = 0;
    }

    /**
     * Decoding got faster or slower for a reason of our own (new thread counts): plain decoding is
     * timed again from scratch, and the requests decoded before compare with nothing after.
     */
    restartBaseline(): void {
        this.#plain = new PlainDecodeTiming();
        this.#window.length = 0;
        this.#requests = 0;
    }

    setSpeculating(value: boolean): void {
        this.#speculating = value;
    }

    snapshot(): SpeculationStats {
        let drafted = 0, accepted = 0, rounds = 0, tokens = 0, ms = 0, dpMs = 0;
        // The requests with a plain prediction: the speedup compares these only, like with like, and
        // so do the tokens/s once there are any, so that tokens/s ÷ plain tokens/s is the speedup.
        // (The ones before calibration are the first after a load: cold, and with the first DP.)
        let comparedTokens = 0, comparedMs = 0, comparedPlainMs = 0;
        const compared: { decodeMs: number; plainMs: number }[] = [];
        for (const { stats, generatedTokens, decodeMs, plainMs } of this.#window) {
            drafted += stats.draftedTokens;
            accepted += stats.acceptedTokens;
            rounds += stats.rounds;
            dpMs += stats.dpMs;
            tokens += generatedTokens;
            ms += decodeMs;
            if (plainMs === undefined) continue;
            comparedTokens += generatedTokens;
            comparedMs += decodeMs;
            comparedPlainMs += plainMs;
            compared.push({ decodeMs, plainMs });
        }
        const measuredSpeedup = comparedMs > 0 && comparedPlainMs > 0 ? comparedPlainMs / comparedMs : null;
        return {
            mode: this.#mode,
            acceptance: drafted > 0 ? accepted / drafted : 0,
            meanAccepted: rounds > 0 ? (accepted + rounds) / rounds : 0,
            tokensPerSecond: comparedMs > 0 ? (comparedTokens * 1000) / comparedMs : ms > 0 ? (tokens * 1000) / ms : 0,
            measuredSpeedup,
            speedupMargin: measuredSpeedup === null ? null : ratioMargin(compared, measuredSpeedup),
            plainTokensPerSecond: comparedTokens > 0 && comparedPlainMs > 0 ? (comparedTokens * 1000) / comparedPlainMs : null,
            dpSharePct: ms > 0 ? (100 * dpMs) / ms : 0,
            skipSet: this.#window.at(-1)?.stats.skipSet ?? [],
            requests: this.#requests,
            speculating: this.#speculating,
        };
    }
}

/** Fewest compared requests whose spread can say anything about the speedup's uncertainty. */
const minComparedRequests = 3;

/**
 * Relative half-width of the 95 % interval of Σ plain ÷ Σ actual over the requests (the ratio
 * estimator's standard error, from the spread of plainᵢ − R·actualᵢ, times Student's t for so few
 * requests); null with too few requests.
 * Requests of every length count, weighted by their time, as in the speedup itself.
 */
export function ratioMargin(requests: readonly { decodeMs: number; plainMs: number }[], ratio: number): number | null {
    const n = requests.length;
    if (n < minComparedRequests || !(ratio > 0)) return null;
    const meanActual = requests.reduce((sum, r) => sum + r.decodeMs, 0) / n;
    const variance = requests.reduce((sum, r) => sum + (r.plainMs - ratio * r.decodeMs) ** 2, 0) / (n - 1);
    const standardError = Math.sqrt(variance / n) / meanActual;
    return (studentT975(n - 1) * standardError) / ratio;
}

/** Two-sided 95 % quantiles of Student's t for 1–20 degrees of freedom (a window holds at most 20 requests). */
const t975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086];

function studentT975(degreesOfFreedom: number): number {
    return t975[degreesOfFreedom - 1] ?? 1.96;
}
