import assert from "node:assert/strict";
import type { DecodeEnd } from "../../../src/engine/decoding.ts";
import { mulberry32 } from "../../../src/fixtures/index.ts";
import { PlainDecodeTiming, RequestStatsRecorder, RollingSpeculationStats, plainDecodeSteps, ratioMargin, skipSetOf, type FinishedRequest } from "../../../src/engine/clasp/stats.ts";

/** A finished request without speculation counters (the speedup only needs its output and time). */
function finished(generatedTokens: number, end: DecodeEnd, decodeMs: number): FinishedRequest {
    return { stats: new RequestStatsRecorder("auto").toStats(), generatedTokens, end, decodeMs };
}

/**
 * A fake machine: what a plain run of `steps` steps costs at the current pace, a fixed part
 * (starting the evaluation, the first step) dearer than a later step.
 */
function plainMachine(fixedMs: number, stepMs: number) {
    let pace = 1;
    return {
        setPace(value: number) {
            pace = value;
        },
        run(steps: number) {
            return { steps, fixedMs: pace * fixedMs, laterMs: pace * stepMs * Math.max(0, steps - 1) };
        },
    };
}

/** Editor traffic: short requests (a third of them one-token warm-ups), some aborted, some ended by the model. */
function editorRequests(count: number, seed: number): { generated: number; end: DecodeEnd }[] {
    const random = mulberry32(seed);
    return Array.from({ length: count }, () => {
        const roll = random();
        if (roll < 0.3) return { generated: 1, end: "maxTokens" as const };
        if (roll < 0.45) return { generated: Math.floor(random() * 3), end: "abort" as const };
        if (roll < 0.55) return { generated: Math.floor(random() * 8), end: "eog" as const };
        return { generated: 1 + Math.floor(random() * 16), end: random() < 0.5 ? "maxTokens" as const : "stopped" as const };
    });
}

describe("speculation stats", () => {
    it("summarizes a request", () => {
        const recorder = new RequestStatsRecorder("clasp");
        recorder.recordRound(4, 4);
        recorder.recordRound(4, 1);
        recorder.recordRound(0, 0);
        recorder.recordDp(12);
        const stats = recorder.toStats([1, 3]);
        assert.equal(stats.acceptance, 5 / 8);
        assert.equal(stats.meanAccepted, (5 + 3) / 3);
        assert.deepEqual([stats.rounds, stats.dpRuns, stats.dpMs, stats.skipSet], [3, 1, 12, [1, 3]]);
    });

    it("counts the steps plain decoding runs, including the token it drops at an end of generation or an abort", () => {
        assert.equal(plainDecodeSteps(5, "maxTokens"), 5);
        assert.equal(plainDecodeSteps(5, "stopped"), 5);
        assert.equal(plainDecodeSteps(5, "eog"), 6);
        assert.equal(plainDecodeSteps(0, "abort"), 1);
    });

    it("predicts a plain run from its fixed part and its later steps", () => {
        const timing = new PlainDecodeTiming();
        assert.equal(timing.predictMs(3), undefined);
        timing.record({ steps: 1, fixedMs: 4, laterMs: 0 });
        assert.equal(timing.predictMs(1), 4);
        assert.equal(timing.predictMs(3), undefined, "one-step runs say nothing about later steps");
        timing.record({ steps: 5, fixedMs: 4, laterMs: 8 });
        assert.equal(timing.stepMs, 2);
        assert.equal(timing.predictMs(10), 4 + 9 * 2);
        assert.equal(timing.predictMs(0), 0);
        // a stream of one-step runs (a request's last token) keeps the step estimate
        for (let i = 0; i < 100; i++) timing.record({ steps: 1, fixedMs: 4, laterMs: 0 });
        assert.equal(timing.stepMs, 2);
    });

    it("compares each request with plain decoding of the same output, and leaves requests before calibration out", () => {
        const rolling = new RollingSpeculationStats("lookup", 3);
        rolling.recordRequest(finished(10, "maxTokens", 50));
        assert.equal(rolling.snapshot().measuredSpeedup, null);
        assert.equal(rolling.snapshot().plainTokensPerSecond, null);
        assert.equal(rolling.snapshot().tokensPerSecond, 200);

        rolling.recordPlainRun({ steps: 4, fixedMs: 6, laterMs: 6 }); // 6 ms fixed, then 2 ms a step
        rolling.recordRequest(finished(10, "maxTokens", 12));
        const snapshot = rolling.snapshot();
        // plain: 6 + 9 · 2 = 24 ms for the same 10 tokens; the uncalibrated first request is not compared
        assert.equal(snapshot.measuredSpeedup, 2);
        assert.equal(snapshot.plainTokensPerSecond, (10 * 1000) / 24);
        assert.equal(snapshot.tokensPerSecond, (10 * 1000) / 12);
        assert.equal(snapshot.tokensPerSecond / snapshot.plainTokensPerSecond!, snapshot.measuredSpeedup);
        assert.equal(snapshot.requests, 2);
    });

    it("reads 1.00× in off mode whatever the traffic: short, empty and aborted requests, a dear first step, a changing pace", () => {
        const rolling = new RollingSpeculationStats("off");
        const machine = plainMachine(3, 1);
        const jitter = mulberry32(11);
        for (const [i, request] of editorRequests(120, 5).entries()) {
            if (i % 40 === 0) machine.setPace([1, 4, 0.5][i / 40]!);
            const run = machine.run(plainDecodeSteps(request.generated, request.end));
            const noise = 0.7 + 0.6 * jitter();
            rolling.recordPlainRequest(finished(request.generated, request.end, (run.fixedMs + run.laterMs) * noise), run.laterMs * noise);
            const snapshot = rolling.snapshot();
            assert.ok(Math.abs(snapshot.measuredSpeedup! - 1) < 1e-9, `request ${i}: off mode read ${snapshot.measuredSpeedup}×`);
        }
    });

    it("reads 1.0× when requests are decoded plainly in a speculative mode, though they are short and the pace changes", () => {
        const rolling = new RollingSpeculationStats("auto");
        const machine = plainMachine(3, 1);
        const readings: number[] = [];
        for (const [i, request] of editorRequests(120, 6).entries()) {
            if (i % 40 === 0) machine.setPace([1, 4, 0.5][i / 40]!);
            // no draft pays: one plain burst (timed as calibration) decodes the whole request
            const run = machine.run(plainDecodeSteps(request.generated, request.end));
            rolling.recordPlainRun(run);
            rolling.recordRequest(finished(request.generated, request.end, run.fixedMs + run.laterMs));
            if (i % 40 === 39) readings.push(rolling.snapshot().measuredSpeedup!);
        }
        for (const reading of readings) assert.ok(Math.abs(reading - 1) < 0.05, `auto without speculation read ${readings.map((r) => r.toFixed(3)).join(", ")}`);
    });

    it("reads above 1 for a mode that emits the same tokens in fewer model steps", () => {
        const rolling = new RollingSpeculationStats("lookup");
        const machine = plainMachine(3, 1);
        rolling.recordPlainRun(machine.run(4)); // the calibration burst
        // 16 tokens in 4 verify rounds of 4 accepted drafts + 1, each round costing 1.5 plain steps
        rolling.recordRequest(finished(16, "maxTokens", 3 + 3 * 1.5 * 1));
        const plainMs = 3 + 15 * 1;
        assert.equal(rolling.snapshot().measuredSpeedup, plainMs / 7.5);
        // a request whose drafts were all rejected took 30 ms for 8 tokens; the window pools both
        rolling.recordRequest(finished(8, "maxTokens", 30));
        const speedup = rolling.snapshot().measuredSpeedup!;
        assert.equal(speedup, (plainMs + 3 + 7) / (7.5 + 30));
        assert.ok(speedup < 1);
    });

    it("starts a new window when the mode changes, keeping the plain calibration", () => {
        const rolling = new RollingSpeculationStats("lookup");
        rolling.recordPlainRun({ steps: 4, fixedMs: 2, laterMs: 3 });
        rolling.recordRequest(finished(4, "maxTokens", 1));
        assert.equal(rolling.snapshot().measuredSpeedup, 5);
        rolling.mode = "auto";
        assert.equal(rolling.snapshot().measuredSpeedup, null);
        assert.equal(rolling.snapshot().mode, "auto");
        rolling.recordRequest(finished(4, "maxTokens", 5));
        assert.equal(rolling.snapshot().measuredSpeedup, 1);
        assert.equal(rolling.snapshot().requests, 2);
    });

    it("keeps the last requests only", () => {
        const rolling = new RollingSpeculationStats("auto", 2);
        rolling.recordRequest(finished(10, "maxTokens", 500));
        rolling.recordRequest(finished(10, "maxTokens", 1000));
        rolling.recordRequest(finished(10, "maxTokens", 1000));
        assert.equal(rolling.snapshot().tokensPerSecond, 10);
        assert.equal(rolling.snapshot().requests, 3);
    });

    it("lists the skipped layers of a mask", () => {
        assert.deepEqual(skipSetOf(Uint8Array.from([0, 1, 0, 1])), [1, 3]);
        assert.deepEqual(skipSetOf(null), []);
    });
});

describe("the speedup's interval (what decides whether the status bar shows it)", () => {
    const requests = (count: number, speedup: number, noise: number, random: () => number) =>
        Array.from({ length: count }, () => {
            const decodeMs = 20 + 200 * random(); // short and long requests
            return { decodeMs, plainMs: decodeMs * speedup * (1 + noise * (2 * random() - 1)) };
        });
    const pooled = (rs: { decodeMs: number; plainMs: number }[]) => rs.reduce((s, r) => s + r.plainMs, 0) / rs.reduce((s, r) => s + r.decodeMs, 0);

    it("is unknown below three requests, zero when every request agrees, and narrows as requests add up", () => {
        const random = mulberry32(5);
        assert.equal(ratioMargin(requests(2, 1.5, 0.3, random), 1.5), null);
        const exact = requests(5, 1.5, 0, random);
        assert.ok(ratioMargin(exact, pooled(exact))! < 1e-12);
        const few = requests(4, 1.5, 0.3, random), many = requests(20, 1.5, 0.3, random);
        const [wide, narrow] = [ratioMargin(few, pooled(few))!, ratioMargin(many, pooled(many))!];
        assert.ok(wide > 0.05 && narrow < wide, `4 requests ±${wide}, 20 requests ±${narrow}`);
    });

    it("covers the true speedup about 95 % of the time (seeded simulation of noisy windows)", () => {
        const random = mulberry32(17);
        let covered = 0;
        const trials = 400;
        for (let trial = 0; trial < trials; trial++) {
            const window = requests(3 + (trial % 18), 1.3, 0.4, random);
            const estimate = pooled(window);
            const margin = ratioMargin(window, estimate)!;
            if (Math.abs(1.3 - estimate) <= margin * estimate) covered++;
        }
        assert.ok(covered / trials > 0.9 && covered / trials < 0.99, `covered ${covered} of ${trials}`);
    });

    it("is part of the rolling snapshot", () => {
        const rolling = new RollingSpeculationStats("lookup");
        rolling.recordPlainRun({ steps: 4, fixedMs: 6, laterMs: 6 });
        for (let i = 0; i < 2; i++) rolling.recordRequest(finished(10, "maxTokens", 12));
        assert.equal(rolling.snapshot().speedupMargin, null);
        rolling.recordRequest(finished(10, "maxTokens", 12));
        assert.equal(rolling.snapshot().speedupMargin, 0);
    });
});
