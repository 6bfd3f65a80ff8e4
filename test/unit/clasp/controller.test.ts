import assert from "node:assert/strict";
import { AcceptanceEstimate, SpeculationController, skipCandidates, skipCountFor } from "../../../src/engine/clasp/controller.ts";

const options = { layers: 28, maxDraftTokens: 8, updateInterval: 32, skipCandidates: [7, 11, 14, 18], probeEvery: 4 };

/** Feeds the controller a machine whose verify cost is `verify(n)` ms and whose drafts cost `draftMs` per token. */
function measured(verify: (n: number) => number, draftMs: number, skipCount = 14) {
    const controller = new SpeculationController(options);
    for (let n = 1; n <= 9; n++) for (let i = 0; i < 5; i++) controller.recordVerify(n, verify(n));
    controller.recordDraft(skipCount, 4, 4 * draftMs);
    return controller;
}

describe("speculation controller", () => {
    it("estimates the first draft token's acceptance apart from the later ones", () => {
        const estimate = new AcceptanceEstimate({ first: 0.5, next: 0.5 });
        // lookup-like rounds: wrong from the first token, or right to the end
        for (let i = 0; i < 200; i++) estimate.record(8, i % 2 === 0 ? 8 : 0);
        assert.ok(Math.abs(estimate.acceptance.first - 0.5) < 0.02, JSON.stringify(estimate.acceptance));
        assert.ok(estimate.acceptance.next > 0.98, JSON.stringify(estimate.acceptance));
        // layer-skip-like rounds: each token kept with 0.8, independently
        const iid = new AcceptanceEstimate({ first: 0.5, next: 0.5 });
        for (let i = 0; i < 400; i++) iid.record(4, [4, 3, 4, 1, 4, 2, 0, 4, 4, 3][i % 10]!);
        const { first, next } = iid.acceptance;
        assert.ok(Math.abs(first - next) < 0.1, JSON.stringify(iid.acceptance));
        assert.equal(iid.observed, 1600);
    });

    it("does not draft one token where half the drafts fail at once and a verify row costs 0.75 of a step", () => {
        // one alpha fitted to these rounds (accepted / (accepted + rejections) = 8 / 9) predicts 1.89 tokens
        // for a 1.75-step round (1.08x); the rounds really yield 1.5 (0.86x), and no length pays
        const controller = measured((n) => 100 + 75 * (n - 1), 0);
        for (let i = 0; i < 200; i++) controller.recordRound("lookup", 0, 8, i % 2 === 0 ? 8 : 0);
        assert.equal(controller.planFor("lookup", 0).source, "none");
        // verify rows at 0.3 of a step: the same rounds pay at full length
        const cheap = measured((n) => 100 + 30 * (n - 1), 0);
        for (let i = 0; i < 200; i++) cheap.recordRound("lookup", 0, 8, i % 2 === 0 ? 8 : 0);
        assert.equal(cheap.planFor("lookup", 0).gamma, 8);
    });

    it("turns speculation off when verification costs as much as the batch is long", () => {
        const controller = measured((n) => 100 * n, 55);
        for (let i = 0; i < 50; i++) controller.recordRound("layerSkip", 14, 4, 3);
        assert.equal(controller.planFor("layerSkip", 14).source, "none");
        assert.equal(controller.plan([{ source: "layerSkip", skipCount: 14, available: 8 }]).source, "none");
    });

    it("speculates where verification is nearly free and drafts are accepted", () => {
        const controller = measured((n) => 100 + 5 * n, 50);
        for (let i = 0; i < 50; i++) controller.recordRound("layerSkip", 14, 4, 4);
        const plan = controller.plan([{ source: "layerSkip", skipCount: 14, available: 8 }]);
        assert.equal(plan.source, "layerSkip");
        assert.ok(plan.gamma >= 2 && plan.predictedSpeedup > 1.2, JSON.stringify(plan));
        assert.ok(Math.abs(controller.draftCost(14) - 0.5) < 0.05);
    });

    it("counts the time of draft calls that exited before their first token", () => {
        const controller = measured((n) => 100 + 5 * n, 50);
        const before = controller.draftCost(14);
        for (let i = 0; i < 20; i++) controller.recordDraft(14, 0, 50);
        assert.ok(controller.draftCost(14) > 4 * before, `${controller.draftCost(14)} vs ${before}`);
    });

    it("keeps its measurements but honours a new draft cap", () => {
        const controller = measured((n) => 100 + 5 * n, 50);
        for (let i = 0; i < 50; i++) controller.recordRound("layerSkip", 14, 4, 4);
        assert.ok(controller.planFor("layerSkip", 14).gamma > 2);
        controller.reconfigure({ maxDraftTokens: 2, updateInterval: 32, skipCandidates: options.skipCandidates });
        assert.equal(controller.planFor("layerSkip", 14).gamma, 2);
    });

    it("explores the skip counts of a new skip ratio", () => {
        const controller = measured((n) => 100 + 5 * n, 30);
        for (let i = 0; i < 100; i++) controller.recordRound("layerSkip", 14, 4, 4);
        assert.ok(controller.chooseSkipCount(14) <= 18);
        controller.reconfigure({ maxDraftTokens: 8, updateInterval: 32, skipCandidates: [20, 22] });
        assert.ok(controller.chooseSkipCount(14) >= 20, "the new ratio's counts were not considered");
    });

    it("starts from costs measured before any request (a thread plan)", () => {
        const controller = new SpeculationController(options);
        controller.seedCosts({ stepMs: 10, batchMs: { 5: 20, 9: 30 }, draftTokenMs: { skipCount: 14, ms: 6 }, dpMs: 12 });
        assert.equal(controller.verify.stepMs, 10);
        assert.equal(controller.verify.ratio(9), 3);
        assert.ok(Math.abs(controller.draftCost(14) - 0.6) < 1e-9);
        assert.ok(controller.costs("layerSkip", 14).overhead > 0, "the DP cost was not counted");
    });

    it("prefers free lookup drafts to equally accepted layer-skip drafts", () => {
        const controller = measured((n) => 100 + 20 * n, 50);
        for (let i = 0; i < 50; i++) {
            controller.recordRound("layerSkip", 14, 3, 3);
            controller.recordRound("lookup", 14, 3, 3);
        }
        const plan = controller.plan([
            { source: "lookup", skipCount: 14, available: 3 },
            { source: "layerSkip", skipCount: 14, available: 8 },
        ]);
        assert.equal(plan.source, "lookup");
        assert.ok(plan.gamma <= 3);
    });

    it("probes after probeEvery rounds without speculation, backing off while probes fail", () => {
        // a verify row costs 0.6 of a step: lookup would pay if its drafts were kept, but they are not
        const controller = measured((n) => 100 + 60 * (n - 1), 55);
        for (let i = 0; i < 20; i++) controller.recordRound("lookup", 14, 3, 0);
        const candidates = [{ source: "lookup" as const, skipCount: 14, available: 3 }];
        assert.equal(controller.plan(candidates).source, "none");
        for (let i = 0; i < options.probeEvery; i++) controller.recordRound("none", 14, 0, 0);
        // as long as the proposal: with every token kept, the longest draft pays best here
        assert.deepEqual(controller.plan(candidates), { source: "lookup", gamma: 3, predictedSpeedup: 1 });
        // the probe failed: the next one waits twice as long
        controller.recordRound("lookup", 14, 1, 0);
        for (let i = 0; i < options.probeEvery; i++) controller.recordRound("none", 14, 0, 0);
        assert.equal(controller.plan(candidates).source, "none");
        for (let i = 0; i < options.probeEvery; i++) controller.recordRound("none", 14, 0, 0);
        assert.equal(controller.plan(candidates).source, "lookup");
    });

    it("probes a source that could not pay with every draft kept only after the longest wait", () => {
        // every verify row costs a full step: even a free draft that is always kept brings nothing
        const controller = measured((n) => 100 * n, 55);
        const candidates = [{ source: "layerSkip" as const, skipCount: 14, available: 8 }];
        for (let i = 0; i < options.probeEvery * 15; i++) controller.recordRound("none", 14, 0, 0);
        assert.equal(controller.plan(candidates).source, "none");
        assert.equal(controller.worthTrying("layerSkip", 14), false);
        for (let i = 0; i < options.probeEvery; i++) controller.recordRound("none", 14, 0, 0);
        assert.equal(controller.worthTrying("layerSkip", 14), true);
        assert.equal(controller.plan(candidates).source, "layerSkip");
    });

    it("probes with the draft length that would pay if kept, so it learns the later tokens and finds long drafts that pay", () => {
        // a memory-bound machine: a draft token costs 0.5 of a step, a verify row 0.3; from the
        // priors nothing pays, and a one-token draft never would (2 tokens for 1.8 steps at best)
        const controller = measured((n) => 100 + 30 * (n - 1), 50);
        const candidates = [{ source: "layerSkip" as const, skipCount: 14, available: 8 }];
        assert.equal(controller.plan(candidates).source, "none");
        for (let i = 0; i < options.probeEvery; i++) controller.recordRound("none", 14, 0, 0);
        const probe = controller.plan(candidates);
        assert.equal(probe.source, "layerSkip");
        assert.ok(probe.gamma >= 4, `a ${probe.gamma}-token probe`);
        // probes kept whole teach the later tokens too, and are followed by another at once
        controller.recordRound("layerSkip", 14, probe.gamma, probe.gamma);
        for (let i = 1; i < 6; i++) {
            const next = controller.plan(candidates);
            assert.equal(next.source, "layerSkip", `no draft after ${i} probes kept whole`);
            controller.recordRound("layerSkip", 14, next.gamma, next.gamma);
        }
        assert.ok(controller.acceptance("layerSkip", 14).next > 0.95, JSON.stringify(controller.acceptance("layerSkip", 14)));
        const plan = controller.plan(candidates);
        assert.equal(plan.source, "layerSkip");
        assert.ok(plan.gamma >= 2 && plan.predictedSpeedup > 1, JSON.stringify(plan));
    });

    it("auto keeps its skip count until that count is measured, instead of chasing scaled priors", () => {
        // one verify row costs 0.24 of a step, a draft token 0.52 at 14 of 28 layers skipped. After one
        // kept one-token draft the estimate is mostly the prior; scaled to 18 layers it predicts 1.03x
        // against 0.99x here, a guess a DP would be spent on.
        const controller = measured((n) => 100 + 24 * (n - 1), 52);
        controller.recordRound("layerSkip", 14, 1, 1);
        assert.equal(controller.chooseSkipCount(14), 14);
        // measured (drafts kept whole): now skipping more layers is worth a DP
        for (let i = 0; i < 8; i++) controller.recordRound("layerSkip", 14, 2, 2);
        assert.ok(controller.chooseSkipCount(14) > 14);
    });

    it("auto moves to fewer skipped layers when the current count is rarely accepted", () => {
        const controller = measured((n) => 100 + 5 * n, 30);
        // each draft token kept with probability 1/2: 0, 1, 2, 3 or 4 of 4 kept in proportion 8 : 4 : 2 : 1 : 1
        const halfKept = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 4];
        for (let i = 0; i < 160; i++) controller.recordRound("layerSkip", 14, 4, halfKept[i % halfKept.length]!);
        assert.ok(controller.chooseSkipCount(14) < 14);
        const good = measured((n) => 100 + 5 * n, 30);
        for (let i = 0; i < 100; i++) good.recordRound("layerSkip", 14, 4, 4);
        assert.ok(good.chooseSkipCount(14) >= 14);
    });

    it("derives skip counts from the ratio and refuses bad ratios", () => {
        assert.equal(skipCountFor(28, 0.5), 14);
        assert.equal(skipCountFor(4, 0), 1);
        assert.equal(skipCountFor(2, 0.8), 1);
        assert.throws(() => skipCountFor(28, 1.5), /skip ratio/);
        assert.deepEqual(skipCandidates(8, 0.5), [2, 3, 4, 5]);
    });
});
