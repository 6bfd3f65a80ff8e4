import assert from "node:assert/strict";
import { RequestStatsRecorder, RollingSpeculationStats, skipSetOf } from "../../../src/engine/clasp/stats.ts";

describe("speculation stats", () => {
    it("summarizes a request", () => {
        const recorder = new RequestStatsRecorder("clasp");
        recorder.recordRound(4, 4);
        recorder.recordRound(4, 1);
        recorder.recordRound(0, 0);
        recorder.recordDp(12, [1, 3]);
        const stats = recorder.toStats();
        assert.equal(stats.acceptance, 5 / 8);
        assert.equal(stats.meanAccepted, (5 + 3) / 3);
        assert.deepEqual([stats.rounds, stats.dpRuns, stats.dpMs, stats.skipSet], [3, 1, 12, [1, 3]]);
    });

    it("measures the speedup against timed plain steps, and reports null before calibration", () => {
        const rolling = new RollingSpeculationStats("auto", 2);
        const request = { ...new RequestStatsRecorder("auto").toStats(), draftedTokens: 10, acceptedTokens: 5, rounds: 5, dpMs: 50 };
        rolling.recordRequest({ stats: request, generatedTokens: 10, decodeMs: 500 });
        assert.equal(rolling.snapshot().measuredSpeedup, null);
        rolling.recordPlainStep(100);
        const snapshot = rolling.snapshot();
        assert.equal(snapshot.tokensPerSecond, 20);
        assert.equal(snapshot.plainTokensPerSecond, 10);
        assert.equal(snapshot.measuredSpeedup, 2);
        assert.equal(snapshot.dpSharePct, 10);
        assert.equal(snapshot.meanAccepted, 2);
        // the window keeps the last two requests only
        rolling.recordRequest({ stats: request, generatedTokens: 10, decodeMs: 1000 });
        rolling.recordRequest({ stats: request, generatedTokens: 10, decodeMs: 1000 });
        assert.equal(rolling.snapshot().tokensPerSecond, 10);
        assert.equal(rolling.snapshot().requests, 3);
    });

    it("lists the skipped layers of a mask", () => {
        assert.deepEqual(skipSetOf(Uint8Array.from([0, 1, 0, 1])), [1, 3]);
        assert.deepEqual(skipSetOf(null), []);
    });
});
