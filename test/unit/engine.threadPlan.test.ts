// Threads per phase in the running engine (src/engine/threadPlanner.ts): measured on the loaded model
// in idle time after a request, applied to node-llama-cpp's own decodes and to the rounds, never
// changing a token. Needs the CLaSp-patched build (its raw decodes do the timing).
import assert from "node:assert/strict";
import type { LlamaContext, LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";
import { Engine } from "../../src/engine/engine.ts";
import { claspBindingsOf, nativeContextOf } from "../../src/engine/native/bindings.ts";
import { createClaspNative, loadClaspLlama } from "../../src/engine/native/index.ts";
import { applyThreadPlan, measureThreadCosts, spreadSkipMask, type ThreadPlan } from "../../src/engine/threadPlan.ts";
import { ensureFixture } from "../../src/fixtures/index.ts";

const request = { prefix: "function add(a, b) {\n  return a + b;\n}\nfunction mul(a, b) {\n  return ", suffix: "\n}\n", maxTokens: 16, maxLines: 1000 };

/** The engine's context, for reading the thread counts llama.cpp holds (test-only reach inside). */
function contextOf(engine: Engine): LlamaContext {
    return (engine as unknown as { loaded: { context: LlamaContext } }).loaded.context;
}

function threadsOf(context: LlamaContext): { threads: number; threadsBatch: number } {
    const bindings = claspBindingsOf(context.model.llama) as unknown as { claspGetThreads(ctx: unknown): { threads: number; threadsBatch: number } };
    return bindings.claspGetThreads(nativeContextOf(context));
}

async function until<T>(what: string, value: () => T | undefined, timeoutMs = 120_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const found = value();
        if (found !== undefined) return found;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
}

describe("engine: threads per phase", function () {
    this.timeout(300_000);
    let modelPath: string;
    before(async () => {
        modelPath = await ensureFixture("redundant");
    });

    it("measures every candidate count after a request, applies the plan, and leaves every completion as it was", async () => {
        const reference = new Engine();
        const engine = new Engine({ threadCounts: [1, 2], threadPlanIdleMs: 0 });
        const logs: string[] = [];
        engine.on("log", ({ message }) => logs.push(message));
        try {
            await reference.load({ modelPath, gpu: "cpu", threads: 1 });
            await engine.load({ modelPath, gpu: "cpu" });
            const before = await engine.complete({ ...request, mode: "clasp" });
            assert.equal(before.text, (await reference.complete({ ...request, mode: "clasp" })).text);
            assert.equal(reference.getThreadPlan(), undefined, "an engine with a fixed thread count measured a plan");

            const plan = await until("the thread plan", () => engine.getThreadPlan());
            assert.deepEqual(plan.costs.map((cost) => cost.threads), [1, 2]);
            for (const cost of plan.costs) assert.ok(cost.tokenMs > 0 && cost.dpMs! > 0 && cost.draftTokenMs! > 0, JSON.stringify(cost));
            assert.ok(logs.some((line) => /^Threads per phase, measured on this model among 1, 2: plain [12], draft [12], verify [12], DP [12]$/.test(line)), logs.join("\n"));

            // node-llama-cpp's own decodes (the prompt, plain steps) now run at the plan's counts
            for (const mode of ["off", "clasp", "lookup", "auto"] as const) {
                const text = (await engine.complete({ ...request, mode })).text;
                assert.equal(text, (await reference.complete({ ...request, mode })).text, `${mode} changed under the plan`);
            }
            await engine.complete({ ...request, prefix: request.prefix + "a * ", mode: "off" });
            assert.deepEqual(threadsOf(contextOf(engine)), { threads: plan.threads.plain, threadsBatch: plan.threads.verify });
        } finally {
            await engine.dispose();
            await reference.dispose();
        }
    });

    it("requests that arrive while it measures run at once and unchanged; the measurement resumes after them", async () => {
        const reference = new Engine();
        const engine = new Engine({ threadCounts: [1, 2], threadPlanIdleMs: 0 });
        try {
            await reference.load({ modelPath, gpu: "cpu", threads: 1 });
            await engine.load({ modelPath, gpu: "cpu" });
            await engine.complete(request);
            for (let i = 0; i < 4; i++) {
                // into the measurement that the previous request started
                await new Promise((resolve) => setTimeout(resolve, 15 * i));
                const next = { ...request, prefix: request.prefix + "a".repeat(i + 1), mode: "clasp" as const };
                assert.equal((await engine.complete(next)).text, (await reference.complete(next)).text, `request ${i} changed`);
            }
            const plan = await until("the thread plan", () => engine.getThreadPlan());
            assert.deepEqual(plan.costs.map((cost) => cost.threads), [1, 2]);
        } finally {
            await engine.dispose();
            await reference.dispose();
        }
    });

    it("is not measured where the user fixed the thread count", async () => {
        const engine = new Engine({ threadCounts: [1, 2], threadPlanIdleMs: 0 });
        try {
            await engine.load({ modelPath, gpu: "cpu", threads: 2 });
            await engine.complete(request);
            await new Promise((resolve) => setTimeout(resolve, 300));
            assert.equal(engine.getThreadPlan(), undefined);
        } finally {
            await engine.dispose();
        }
    });
});

describe("thread plan on one context", function () {
    this.timeout(120_000);
    let model: LlamaModel;
    let context: LlamaContext;
    let sequence: LlamaContextSequence;
    const prompt = Array.from({ length: 40 }, (_, i) => ((i * 11) % 200) + 30) as Token[];

    before(async () => {
        const llama = await loadClaspLlama({ gpu: "cpu", maxThreads: 2 });
        model = await llama.loadModel({ modelPath: await ensureFixture("redundant"), gpuLayers: 0 });
        context = await model.createContext({ contextSize: 256, sequences: 1, threads: 1 });
        sequence = context.getSequence();
        await sequence.evaluateWithoutGeneratingNewTokens(prompt);
    });
    after(async () => {
        await context.dispose();
        await model.dispose();
    });

    it("stops between two decodes with an AbortError and leaves the sequence and the thread counts as they were", async () => {
        const native = createClaspNative(context, sequence);
        const before = threadsOf(context);
        const controller = new AbortController();
        // hundreds of decodes: the abort lands long before the measurement could finish
        const measuring = measureThreadCosts(context, sequence, 2, {
            repeats: 200, batchSizes: [2, 5, 9], native, draftMask: spreadSkipMask(native.info.nLayer, 2), dpSkip: 2, signal: controller.signal,
        });
        setTimeout(() => controller.abort(), 20);
        await assert.rejects(measuring, { name: "AbortError" });
        assert.deepEqual(threadsOf(context), before);
        assert.deepEqual(sequence.contextTokens, prompt);
        assert.equal(native.getLayerSkip().some((bit) => bit !== 0), false, "the draft mask is cleared");
        await assert.rejects(measureThreadCosts(context, sequence, 1, { signal: AbortSignal.abort() }), { name: "AbortError" });
    });

    it("makes node-llama-cpp's one-token decodes run at the plan's plain count and its batches at the verify count", async () => {
        const planWith = (plain: number, verify: number): ThreadPlan => ({ threads: { plain, draft: plain, verify, dp: verify }, batchSizes: [2], costs: [] });
        for (const [plain, verify] of [[2, 1], [1, 2], [1, 1]] as const) {
            applyThreadPlan(context, planWith(plain, verify));
            await sequence.evaluateWithoutGeneratingNewTokens([prompt[0]!]);
            await sequence.evaluateWithoutGeneratingNewTokens([prompt[1]!, prompt[2]!]);
            assert.deepEqual(threadsOf(context), { threads: plain, threadsBatch: verify }, `plan ${plain}/${verify}`);
            assert.equal(context.idealThreads, plain);
            await sequence.eraseContextTokenRanges([{ start: prompt.length, end: sequence.nextTokenIndex }]);
        }
    });

    it("spreads a draft mask's skipped layers evenly and keeps the first and the last layer", () => {
        assert.equal(spreadSkipMask(8, 3).join(""), "00101010");
        assert.equal(spreadSkipMask(16, 1).join(""), "0000000010000000");
        for (const [layers, count] of [[8, 3], [30, 12], [4, 2], [16, 1]] as const) {
            const mask = spreadSkipMask(layers, count);
            assert.equal(mask.reduce((sum, bit) => sum + bit, 0), count);
            assert.equal(mask[0], 0);
            assert.equal(mask[layers - 1], 0);
        }
        assert.throws(() => spreadSkipMask(4, 3), /cannot skip 3 of the 2 inner layers/);
    });
});
