import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { Engine } from "../../../src/engine/engine.ts";
import { EngineAlreadyRunning, readLockPid, readToken } from "../../../src/engine/service/credentials.ts";
import { serviceLocation } from "../../../src/engine/service/location.ts";
import { startEngineService } from "../../../src/engine/service/server.ts";
import { ensureFixture } from "../../../src/fixtures/index.ts";
import { RawClient, startHarness, tempServiceDir, testVersion, waitFor, type Harness } from "./harness.ts";

/** A pid no process has: a child that already exited. */
function deadPid(): number {
    return 2 ** 22 - 1;
}

describe("engine service: files, stale files, idle exit", function () {
    this.timeout(60_000);
    let harness: Harness | undefined;
    afterEach(async () => {
        await harness?.stop();
        harness = undefined;
    });

    it("keeps its socket, token and lock in a directory only the user can enter", async () => {
        harness = await startHarness();
        const { location } = harness;
        assert.equal(statSync(location.dir).mode & 0o777, 0o700);
        for (const file of [location.token, location.lock, location.socket]) assert.equal(statSync(file).mode & 0o077, 0, `${file} is open to others`);
        assert.match(readToken(location.token) ?? "", /^[0-9a-f]{64}$/);
        assert.equal(readLockPid(location.lock), process.pid);
    });

    it("closes a group- or world-readable directory it finds, and refuses a token file others could read", async () => {
        const dir = tempServiceDir();
        const engineDir = path.join(dir, "engine");
        mkdirSync(engineDir, { mode: 0o755 });
        harness = await startHarness({ dir });
        assert.equal(statSync(engineDir).mode & 0o777, 0o700);
        const leaky = path.join(dir, "leaky.token");
        writeFileSync(leaky, "a".repeat(64), { mode: 0o644 });
        assert.equal(readToken(leaky), undefined);
    });

    it("replaces the stale socket, token and lock a crashed engine left behind", async () => {
        const dir = tempServiceDir();
        const location = serviceLocation(testVersion, "shared", path.join(dir, "engine"));
        mkdirSync(location.dir, { mode: 0o700 });
        writeFileSync(location.lock, String(deadPid()), { mode: 0o600 });
        writeFileSync(location.token, "stale", { mode: 0o600 });
        // A socket file nobody listens on, as a SIGKILLed engine leaves it.
        const orphan = createServer();
        await new Promise<void>((resolve) => orphan.listen(location.socket, resolve));
        await new Promise<void>((resolve) => { orphan.close(() => resolve()); });
        writeFileSync(location.socket, "");

        harness = await startHarness({ dir });
        await harness.logged(/replacing the stale lock .* \(engine 4194303 is gone\)/);
        assert.notEqual(readToken(location.token), "stale");
        const client = await RawClient.welcomed(location);
        assert.equal((await client.request("status", undefined)).kind, "response");
        client.close();
    });

    it("leaves a live engine alone: another one on the same files gives way", async () => {
        // A live process other than this one holds the lock, as a running engine would.
        const holder = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)"], { stdio: "ignore" });
        try {
            const dir = tempServiceDir();
            const location = serviceLocation(testVersion, "shared", path.join(dir, "engine"));
            mkdirSync(location.dir, { mode: 0o700 });
            writeFileSync(location.lock, String(holder.pid), { mode: 0o600 });
            await assert.rejects(
                startEngineService({ location, version: testVersion, engine: new Engine(), log: () => undefined }),
                (error: unknown) => error instanceof EngineAlreadyRunning && error.pid === holder.pid,
            );
            assert.equal(readLockPid(location.lock), holder.pid, "the live engine's lock was taken");
            rmSync(dir, { recursive: true, force: true });
        } finally {
            holder.kill();
        }
    });

    it("stops when its lock file is taken over or deleted", async () => {
        harness = await startHarness({ limits: { watchdogMs: 50 } });
        unlinkSync(harness.location.lock);
        assert.match(await harness.service.closed, /lock file was replaced or removed/);
    });

    it("exits a while after its last window leaves, and not while one is connected", async () => {
        harness = await startHarness({ idleExitMs: 300 });
        const client = await RawClient.welcomed(harness.location);
        let closed: string | undefined;
        void harness.service.closed.then((reason) => (closed = reason));
        await new Promise((resolve) => setTimeout(resolve, 600));
        assert.equal(closed, undefined, "stopped with a window connected");
        client.close();
        assert.match(await harness.service.closed, /no window for 0 s/);
        // It removed its own files on the way out.
        assert.throws(() => statSync(harness!.location.socket));
        assert.equal(readToken(harness.location.token), undefined);
    });

    it("frees the slot of a window that dies mid-request", async () => {
        harness = await startHarness();
        const dying = await RawClient.welcomed(harness.location, "dying window");
        assert.equal((await dying.request("load", { modelPath: await ensureFixture("rand"), threads: 1 })).kind, "response");
        dying.start("generate", { prompt: "function main() {\n", maxTokens: 1_000_000, mode: "off" });
        await dying.frame((frame) => frame.kind === "progress");
        dying.close();
        await harness.logged(/dying window\) left/);
        // Without the slot freed this waits behind a million tokens and the test times out.
        const other = await RawClient.welcomed(harness.location, "other window");
        const answer = await other.request("complete", { prefix: "x", suffix: "", maxTokens: 2, mode: "off" });
        assert.equal(answer.kind, "response", JSON.stringify(answer));
        other.close();
    });
});

describe("engine service: one model for every window", function () {
    this.timeout(60_000);
    let harness: Harness;
    before(async () => (harness = await startHarness()));
    after(async () => harness.stop());

    it("shares the loaded model, refuses another one while others use it, and allows it once they left", async () => {
        const [rand, redundant] = [await ensureFixture("rand"), await ensureFixture("redundant")];
        const a = await RawClient.welcomed(harness.location, "window A");
        const b = await RawClient.welcomed(harness.location, "window B");
        const loadsBefore = harness.logs.length;
        assert.equal((await a.request("load", { modelPath: rand, threads: 1 })).kind, "response");
        assert.equal((await b.request("load", { modelPath: rand, threads: 1 })).kind, "response");
        const statusEvents = b.frames.filter((frame) => frame.kind === "event" && frame.event === "status" && (frame.payload as { state: string }).state === "loading");
        assert.equal(statusEvents.length, 1, "the second window's load reloaded the model");
        assert.ok(harness.logs.length >= loadsBefore);

        const refused = await b.request("load", { modelPath: redundant, threads: 1 });
        assert.equal(refused.kind, "error");
        const error = refused.error as { code: string; message: string };
        assert.equal(error.code, "MODEL_CONFLICT");
        assert.match(error.message, /shared with 1 other window using .*rand.*; loading .*redundant.* here would take it from them/);
        assert.equal((harness.engine.getStatus().model?.path), rand, "the refused load changed the model");

        a.close();
        await harness.logged(/window A\) left/);
        const switched = await b.request("load", { modelPath: redundant, threads: 1 });
        assert.equal(switched.kind, "response", JSON.stringify(switched));
        assert.equal(harness.engine.getStatus().model?.path, redundant);
        b.close();
    });

    it("unloads only when no other window uses the model", async () => {
        const rand = await ensureFixture("rand");
        const a = await RawClient.welcomed(harness.location, "window A");
        const b = await RawClient.welcomed(harness.location, "window B");
        await a.request("load", { modelPath: rand, threads: 1 });
        await b.request("load", { modelPath: rand, threads: 1 });
        await a.request("unload", undefined);
        assert.equal(harness.engine.getStatus().state, "ready");
        await b.request("unload", undefined);
        await waitFor(() => (harness.engine.getStatus().state === "stopped" ? true : undefined), "the unload");
        a.close();
        b.close();
    });
});

