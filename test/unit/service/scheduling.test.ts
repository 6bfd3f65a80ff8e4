import assert from "node:assert/strict";
import { Engine } from "../../../src/engine/engine.ts";
import { FairScheduler, type YieldTurn } from "../../../src/engine/service/scheduler.ts";
import { ensureFixture } from "../../../src/fixtures/index.ts";

/** Work that runs until released (or aborted), noting when it started. */
function blocker(log: string[], name: string) {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const work = (signal: AbortSignal) => {
        log.push(name);
        return new Promise<string>((resolve, reject) => {
            signal.addEventListener("abort", () => reject(new Error(`${name} aborted`)), { once: true });
            void released.then(() => resolve(name));
        });
    };
    return { work, release };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe("fair scheduler", () => {
    it("lets a window's new completion replace its own older one, queued or running, and nobody else's", async () => {
        const scheduler = new FairScheduler();
        const started: string[] = [];
        const a1 = blocker(started, "a1");
        const b1 = blocker(started, "b1");
        const a2 = blocker(started, "a2");
        const never = new AbortController().signal;
        const runningA1 = scheduler.run("A", "complete", never, a1.work);
        const queuedB1 = scheduler.run("B", "complete", never, b1.work);
        await tick();
        const queuedA2 = scheduler.run("A", "complete", never, a2.work);
        await assert.rejects(runningA1, /a1 aborted/);
        await tick();
        b1.release();
        assert.equal(await queuedB1, "b1");
        await tick();
        a2.release();
        assert.equal(await queuedA2, "a2");
        assert.deepEqual(started, ["a1", "b1", "a2"]);
    });

    it("serves the focused window first, but passes nobody over more than twice", async () => {
        const scheduler = new FairScheduler();
        scheduler.setFocused("A", true);
        const started: string[] = [];
        const never = new AbortController().signal;
        const first = blocker(started, "c0");
        const running = scheduler.run("C", "complete", never, first.work);
        const b = blocker(started, "b");
        const waitingB = scheduler.run("B", "complete", never, b.work);
        const pending: Promise<string>[] = [running, waitingB];
        // The focused window keeps asking; each of its requests queues behind the running one.
        const focusedWork: { release(): void }[] = [];
        let current = first;
        for (let i = 1; i <= 3; i++) {
            const next = blocker(started, `a${i}`);
            focusedWork.push(next);
            pending.push(scheduler.run(`A${i}`, "complete", never, next.work));
            scheduler.setFocused(`A${i}`, true);
            current.release();
            await tick();
            current = started.at(-1) === "b" ? b : next;
        }
        b.release();
        for (const work of focusedWork) work.release();
        await Promise.allSettled(pending);
        assert.ok(started.indexOf("b") <= 3, `B was passed over too often: ${started.join(", ")}`);
        assert.equal(started[1], "a1", `the focused window did not go first: ${started.join(", ")}`);
    });

    it("has a generate hand its turn to a waiting completion, but not to another generate", async () => {
        const scheduler = new FairScheduler();
        const never = new AbortController().signal;
        const order: string[] = [];
        let yieldTurn!: YieldTurn;
        let finishGenerate!: () => void;
        const generate = scheduler.run("A", "generate", never, (_signal, turn) => {
            yieldTurn = turn;
            order.push("generate");
            return new Promise<void>((resolve) => (finishGenerate = resolve));
        });
        await tick();
        const otherGenerate = scheduler.run("C", "generate", never, async () => void order.push("other generate"));
        assert.equal(yieldTurn(), undefined, "a generate yielded to a generate");
        const completion = scheduler.run("B", "complete", never, async () => void order.push("completion"));
        const paused = yieldTurn();
        assert.ok(paused, "the generate did not yield to a completion");
        await completion;
        await paused;
        assert.deepEqual(order, ["generate", "completion"]);
        finishGenerate();
        await generate;
        await otherGenerate;
        assert.deepEqual(order, ["generate", "completion", "other generate"]);
    });

    it("drops a window's queued work when it goes away", async () => {
        const scheduler = new FairScheduler();
        const never = new AbortController().signal;
        const started: string[] = [];
        const running = blocker(started, "a");
        const first = scheduler.run("A", "complete", never, running.work);
        const queued = scheduler.run("B", "generate", never, blocker(started, "b").work);
        scheduler.dropWindow("B");
        await assert.rejects(queued, (error: Error & { code?: string }) => error.code === "CANCELLED");
        running.release();
        await first;
        assert.deepEqual(started, ["a"]);
    });
});

describe("fair scheduler with the real engine", function () {
    this.timeout(120_000);
    const engine = new Engine();
    before(async () => engine.load({ modelPath: await ensureFixture("rand"), threads: 1 }));
    after(() => engine.dispose());

    it("serves another window's completion within one round of a long Generate, which then ends as it would have alone", async () => {
        const request = { prompt: "function main() {\n", maxTokens: 120, mode: "off" as const };
        const alone = await engine.generate(request);

        const scheduler = new FairScheduler();
        const never = new AbortController().signal;
        let rounds = 0;
        let reachedFive!: () => void;
        const fiveRounds = new Promise<void>((resolve) => (reachedFive = resolve));
        const shared = scheduler.run("A", "generate", never, (signal, yieldTurn) =>
            engine.generate(request, signal, () => { if (++rounds === 5) reachedFive(); }, yieldTurn));
        await fiveRounds;
        const roundsAtRequest = rounds;
        let roundsBeforeStart = -1;
        const completion = await scheduler.run("B", "complete", never, (signal) => {
            roundsBeforeStart = rounds - roundsAtRequest;
            return engine.complete({ prefix: "const x = ", suffix: "", maxTokens: 4, mode: "off" }, signal);
        });
        assert.ok(completion.generatedTokens <= 4);
        assert.ok(roundsBeforeStart <= 1, `the completion waited ${roundsBeforeStart} rounds of the Generate`);
        const result = await shared;
        assert.equal(result.text, alone.text, "the resumed generation differs from the uninterrupted one");
        assert.equal(result.generatedTokens, alone.generatedTokens);
    });
});
