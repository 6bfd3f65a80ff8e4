// The plain-decoding baseline the live speedup is measured against. Plain decoding is timed on
// node-llama-cpp's own path, exactly as `plainDecoder` runs it: a few plain steps per window of
// generated tokens in the speculative modes (bursts the round loop interleaves), and every request
// in `off` mode.
import type { LlamaContextSequence, Token } from "node-llama-cpp";
import { plainDecoder, type DecodeEnd, type DecodeInput, type DecodeOutcome } from "../decoding.ts";
import { RequestStatsRecorder, type RollingSpeculationStats } from "./stats.ts";

/** Plain tokens per refresh window: enough to time plain decoding without costing much speed. */
export const calibrationSteps = 4;
const calibrationWindowTokens = 256;

export interface PlainBurst {
    /** Tokens emitted. */
    count: number;
    /** The last emitted token (the next pending one), or the burst's pending token if none was. */
    last: Token;
    end?: DecodeEnd;
    /** Milliseconds per plain step after the first (steady decoding), when the burst timed two steps or more. */
    stepMs?: number;
}

export class PlainCalibration {
    #plainStepsInWindow = 0;
    #tokensInWindow = 0;

    constructor(private readonly rolling: RollingSpeculationStats, private readonly now: () => number) {}

    /** Whether plain decoding should be timed now (the first steps of each window). */
    get due(): boolean {
        if (this.#tokensInWindow >= calibrationWindowTokens) {
            this.#tokensInWindow = 0;
            this.#plainStepsInWindow = 0;
        }
        return this.#plainStepsInWindow < calibrationSteps;
    }

    /** The baseline starts again (new thread counts): plain decoding is timed in the next round already. */
    restart(): void {
        this.#plainStepsInWindow = 0;
        this.#tokensInWindow = 0;
    }

    /** Tokens the speculative rounds emitted (they advance the window). */
    countTokens(count: number): void {
        this.#tokensInWindow += count;
    }

    /**
     * Up to `limit` tokens through node-llama-cpp's plain path (exactly what plainDecoder does), stopping
     * early when `stopEarly` says a draft is available again. Timed: this is the calibration baseline.
     */
    async burst(
        sequence: LlamaContextSequence,
        pending: Token,
        limit: number,
        sampling: { temperature: number; seed: number },
        emit: (token: Token) => DecodeEnd | undefined,
        stopEarly: () => boolean,
    ): Promise<PlainBurst> {
        const started = this.now();
        const iterator = sequence.evaluate([pending], sampling);
        let count = 0;
        let evaluated = 0;
        let firstTokenAt: number | undefined;
        let lastStepAt = started;
        // the draft checks between steps are the round loop's work, not plain decoding's: kept out of the timing
        let checksMs = 0;
        let checksMsAtLastStep = 0;
        let last = pending;
        let end: DecodeEnd | undefined = "eog"; // the iterator ends by itself only at an end-of-generation token
        try {
            for await (const token of iterator) {
                evaluated++;
                lastStepAt = this.now();
                checksMsAtLastStep = checksMs;
                firstTokenAt ??= lastStepAt;
                end = emit(token);
                if (end !== undefined) break;
                count++;
                last = token;
                if (count >= limit) break;
                const checkStarted = this.now();
                const stop = stopEarly();
                checksMs += this.now() - checkStarted;
                if (stop) break;
                end = "eog";
            }
        } finally {
            await iterator.return();
        }
        // the end-of-generation token is evaluated but never yielded: its step ends with the iteration
        if (end === "eog" && evaluated === count) {
            evaluated++;
            lastStepAt = this.now();
            checksMsAtLastStep = checksMs;
        }
        const ms = this.now() - started - checksMs;
        const laterMs = firstTokenAt === undefined ? 0 : lastStepAt - firstTokenAt - checksMsAtLastStep;
        this.rolling.recordPlainRun({ steps: evaluated, fixedMs: ms - laterMs, laterMs });
        this.#plainStepsInWindow += count;
        this.#tokensInWindow += count;
        return { count, last, end, stepMs: evaluated >= 2 ? laterMs / (evaluated - 1) : undefined };
    }

    /** Plain decoding, timed: in `off` mode every request is also a calibration run. */
    async decodePlain(input: DecodeInput): Promise<DecodeOutcome> {
        const started = this.now();
        let firstTokenAt: number | undefined;
        let lastTokenAt = started;
        const outcome = await plainDecoder.decode({
            ...input,
            onTokens: (tokens) => {
                lastTokenAt = this.now();
                firstTokenAt ??= lastTokenAt;
                return input.onTokens(tokens);
            },
        });
        const ended = this.now();
        const ms = ended - started;
        // after an end of generation or an abort, the dropped token's step ran until the decode ended
        const lastStepAt = outcome.end === "eog" || outcome.end === "abort" ? ended : lastTokenAt;
        const laterMs = firstTokenAt === undefined ? 0 : lastStepAt - firstTokenAt;
        const speculation = new RequestStatsRecorder("off").toStats();
        this.rolling.setSpeculating(false);
        this.rolling.recordPlainRequest({ stats: speculation, generatedTokens: outcome.generatedTokens, end: outcome.end, decodeMs: ms }, laterMs);
        return { ...outcome, speculation };
    }
}
