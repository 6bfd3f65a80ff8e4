import assert from "node:assert/strict";
import { fullGc } from "../../../src/engine/fullGc.ts";
import { IdleReclaimer } from "../../../src/engine/service/idleReclaim.ts";
import { FairScheduler } from "../../../src/engine/service/scheduler.ts";
import { ensureFixture } from "../../../src/fixtures/index.ts";
import { RawClient, startHarness } from "./harness.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("idle memory reclaim", () => {
    it("reclaims once after the quiet time, and not at all when work starts before it ends", async () => {
        let reclaims = 0;
        const reclaimer = new IdleReclaimer(() => reclaims++, 40);
        reclaimer.idle();
        await sleep(15);
        reclaimer.busy();
        await sleep(60);
        assert.equal(reclaims, 0, "work that started within the quiet time cancels the reclaim");
        reclaimer.idle();
        await sleep(80);
        assert.equal(reclaims, 1);
        await sleep(80);
        assert.equal(reclaims, 1, "one reclaim per quiet spell");
        reclaimer.dispose();
    });

    it("the scheduler reports busy when work starts and idle only when none runs or waits", async () => {
        const events: string[] = [];
        const scheduler = new FairScheduler({ busy: () => events.push("busy"), idle: () => events.push("idle") });
        const never = new AbortController().signal;
        let releaseA!: () => void;
        const a = scheduler.run("A", "complete", never, () => new Promise<void>((resolve) => (releaseA = resolve)));
        const b = scheduler.run("B", "generate", never, async () => undefined);
        await sleep(5);
        assert.deepEqual(events, ["busy", "busy"], "B waits behind A: nothing is idle yet");
        releaseA();
        await Promise.all([a, b]);
        assert.deepEqual(events, ["busy", "busy", "idle"], "idle once, after the last work ended");

        const cancelled = new AbortController();
        cancelled.abort();
        await assert.rejects(scheduler.run("A", "complete", cancelled.signal, async () => undefined));
        assert.equal(events.at(-1), "idle", "a request cancelled before it ran leaves the scheduler idle again");
    });

    it("fullGc collects unreachable objects", async () => {
        let target: object | undefined = { payload: new Array(1000).fill(0) };
        const weak = new WeakRef(target);
        target = undefined;
        // a WeakRef keeps its target alive until the current job ends
        await sleep(0);
        fullGc();
        assert.equal(weak.deref(), undefined);
    });

    it("the engine service reclaims once after its requests go quiet, with the loaded engine", async function () {
        this.timeout(60_000);
        const harness = await startHarness({ limits: { reclaimQuietMs: 150 } });
        const window = await RawClient.welcomed(harness.location);
        try {
            assert.equal((await window.request("load", { modelPath: await ensureFixture("rand"), threads: 1 })).kind, "response");
            let reclaims = 0;
            const reclaim = harness.engine.reclaimIdleMemory.bind(harness.engine);
            harness.engine.reclaimIdleMemory = () => {
                reclaims++;
                reclaim(); // the real one: a full GC and malloc_trim must not throw with a model loaded
            };
            for (let i = 0; i < 3; i++) {
                assert.equal((await window.request("complete", { prefix: `const a${i} = `, suffix: "", maxTokens: 2, mode: "off" })).kind, "response");
                await sleep(20);
            }
            assert.equal(reclaims, 0, "reclaimed while requests kept coming");
            await sleep(400);
            assert.equal(reclaims, 1, "one reclaim once the requests stopped");
        } finally {
            window.close();
            await harness.stop();
        }
    });
});
