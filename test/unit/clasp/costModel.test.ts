import assert from "node:assert/strict";
import { bestDraftLength, expectedTokensPerRound, predictedSpeedup, uniformAcceptance as iid, VerifyCostTable } from "../../../src/engine/clasp/costModel.ts";

const close = (actual: number, expected: number, tolerance = 1e-2) =>
    assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} is not within ${tolerance} of ${expected}`);

describe("speculation cost model", () => {
    it("expected tokens per round follow (1 - a^(g+1)) / (1 - a)", () => {
        close(expectedTokensPerRound(iid(0.8), 4), 3.36);
        close(expectedTokensPerRound(iid(0.9), 8), 6.13);
        assert.equal(expectedTokensPerRound(iid(1), 5), 6);
        assert.equal(expectedTokensPerRound(iid(0.7), 0), 1);
    });

    it("a chain kept or dropped at its first token yields what its first and next rates say", () => {
        // half of the drafts are wrong from the first token, the other half right to the end
        const chain = { first: 0.5, next: 1 };
        assert.equal(expectedTokensPerRound(chain, 8), 5);
        assert.equal(expectedTokensPerRound(chain, 1), 1.5);
        close(expectedTokensPerRound({ first: 0.6, next: 0.9 }, 3), 1 + 0.6 * (1 + 0.9 + 0.81));
        // verification at 0.4 of a step per extra row: such a chain pays only when drafted long
        const cpu = { draftCost: 0, verifyCost: (n: number) => 1 + 0.4 * (n - 1), overhead: 0 };
        assert.deepEqual(bestDraftLength(chain, 8, cpu), { gamma: 8, speedup: 5 / 4.2 });
    });

    it("speedup is E / (g c + V(g+1) + overhead)", () => {
        const costs = { draftCost: 0.5, verifyCost: (n: number) => 1 + 0.1 * (n - 1), overhead: 0.2 };
        close(predictedSpeedup(iid(0.8), 2, costs), 2.44 / (1 + 1.2 + 0.2));
        assert.equal(predictedSpeedup(iid(0.8), 0, costs), 1);
    });

    it("chooses no draft when verification grows as fast as the batch", () => {
        const linear = { draftCost: 0.55, verifyCost: (n: number) => n, overhead: 0 };
        assert.deepEqual(bestDraftLength(iid(0.9), 8, linear), { gamma: 0, speedup: 1 });
        const gpuLike = { draftCost: 0.5, verifyCost: () => 1, overhead: 0 };
        const best = bestDraftLength(iid(0.9), 8, gpuLike);
        assert.ok(best.gamma >= 3 && best.speedup > 1.3, JSON.stringify(best));
    });

    it("zero-cost drafts pay off on a CPU-like verify curve only at high acceptance", () => {
        const cpu = { draftCost: 0, verifyCost: (n: number) => [1, 1, 1.13, 1.34, 1.53, 2.39][n] ?? n / 2, overhead: 0 };
        const high = bestDraftLength(iid(0.9), 5, cpu);
        close(high.speedup, 2.25, 0.02);
        assert.equal(high.gamma, 3);
        assert.equal(bestDraftLength(iid(0.05), 5, cpu).gamma, 0);
    });

    it("verify cost table interpolates and extrapolates measured batch times", () => {
        const table = new VerifyCostTable(0.25, 1);
        assert.equal(table.ratio(3), 1.5); // prior only
        table.record(1, 10);
        table.record(3, 14);
        table.record(5, 30);
        assert.equal(table.stepMs, 10);
        close(table.ratio(2), 1.2);
        close(table.ratio(4), 2.2);
        close(table.ratio(7), 4.6);
        close(table.estimateMs(4)!, 22);
        assert.equal(new VerifyCostTable().estimateMs(2), undefined);
        assert.equal(table.ratio(1), 1);
    });
});
