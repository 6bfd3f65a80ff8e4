import assert from "node:assert/strict";
import type { LlamaModel, Token } from "node-llama-cpp";
import { fastestThreads, measureThreadPlan, setContextThreads } from "../../src/engine/threadPlan.ts";
import { claspBindingsOf, nativeContextOf } from "../../src/engine/native/bindings.ts";
import { loadFixtureModel, openSession, type Session } from "./nativeHarness.ts";

const threadsOf = (session: Session) =>
    (claspBindingsOf(session.context.model.llama) as unknown as { claspGetThreads(ctx: unknown): { threads: number; threadsBatch: number } })
        .claspGetThreads(nativeContextOf(session.context));

describe("thread plan: per-phase costs at each thread count", function () {
    let model: LlamaModel;
    let session: Session;
    const prompt = Array.from({ length: 40 }, (_, i) => ((i * 7) % 200) + 30) as Token[];

    before(async () => {
        model = await loadFixtureModel("redundant");
        session = await openSession(model);
        await session.sequence.evaluateWithoutGeneratingNewTokens(prompt);
    });
    after(async () => {
        await session.context.dispose();
        await model.dispose();
    });

    it("measures every phase at every count and leaves the sequence and the context's threads as they were", async () => {
        const before = threadsOf(session);
        const plan = await measureThreadPlan(session.context, session.sequence, { threadCounts: [1, 2], batchSizes: [2, 5], repeats: 3, native: session.native });
        assert.deepEqual(plan.costs.map((cost) => cost.threads), [1, 2]);
        for (const cost of plan.costs) {
            assert.ok(cost.tokenMs > 0 && cost.batchMs[2]! > 0 && cost.batchMs[5]! > 0, JSON.stringify(cost));
            assert.ok(cost.draftTokenMs! > 0 && cost.dpMs! > 0, JSON.stringify(cost));
        }
        for (const phase of ["plain", "draft", "verify", "dp"] as const) assert.ok([1, 2].includes(plan.threads[phase]));
        assert.deepEqual(threadsOf(session), before);
        assert.equal(session.sequence.nextTokenIndex, prompt.length);
        assert.deepEqual(session.sequence.contextTokens, prompt);
        assert.equal(session.native.getLayerSkip().some((bit) => bit !== 0), false, "the draft mask is cleared");
        // the next plain decode equals one on a context that never measured anything
        const fresh = await openSession(model);
        try {
            await fresh.sequence.evaluateWithoutGeneratingNewTokens(prompt);
            const next = await session.sequence.controlledEvaluate([[prompt[0]!, { generateNext: { token: true } }]]);
            const reference = await fresh.sequence.controlledEvaluate([[prompt[0]!, { generateNext: { token: true } }]]);
            assert.equal(next[0]?.next.token, reference[0]?.next.token);
        } finally {
            await session.sequence.eraseContextTokenRanges([{ start: prompt.length, end: session.sequence.nextTokenIndex }]);
            await fresh.context.dispose();
        }
    });

    it("keeps one-token and batch thread counts apart through node-llama-cpp's own decodes", async () => {
        setContextThreads(session.context, 1, 2);
        await session.sequence.evaluateWithoutGeneratingNewTokens([prompt[1]!]);
        assert.deepEqual(threadsOf(session), { threads: 1, threadsBatch: 2 });
        setContextThreads(session.context, 1, 1);
        await session.sequence.eraseContextTokenRanges([{ start: prompt.length, end: session.sequence.nextTokenIndex }]);
    });

    it("refuses to time decodes anywhere but at the end of the sequence", async () => {
        const bindings = claspBindingsOf(session.context.model.llama) as unknown as { claspTimeDecode(...args: unknown[]): Promise<Float64Array> };
        const ctx = nativeContextOf(session.context);
        await assert.rejects(bindings.claspTimeDecode(ctx, 0, 3, Uint32Array.of(prompt[0]!), 1), /end of the sequence/);
        assert.throws(() => bindings.claspTimeDecode(ctx, 0, prompt.length, Uint32Array.of(1 << 30), 1), /not in the vocabulary/);
        assert.deepEqual(session.sequence.contextTokens, prompt);
    });

    it("prefers fewer threads unless more are faster by more than the tie share", () => {
        assert.equal(fastestThreads([{ threads: 1, ms: 10 }, { threads: 2, ms: 9.9 }], 0.02), 1);
        assert.equal(fastestThreads([{ threads: 1, ms: 10 }, { threads: 2, ms: 6 }], 0.02), 2);
    });
});
