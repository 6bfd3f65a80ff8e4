import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { EngineProcess } from "../../src/client/engineProcess.ts";
import type { EngineState } from "../../src/engine/protocol.ts";
import { ensureFixture } from "../../src/fixtures/index.ts";

const enginePath = fileURLToPath(new URL("../../src/engine/main.ts", import.meta.url));

function start(backoffMs = [50, 50]): EngineProcess {
    return new EngineProcess({ enginePath, execArgv: ["--import", "tsx"], log: () => {}, backoffMs });
}

function waitForState(engine: EngineProcess, wanted: EngineState, timeoutMs = 30_000): Promise<void> {
    if (engine.state === wanted) return Promise.resolve();
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => { off(); reject(new Error(`state stayed ${engine.state}, wanted ${wanted}`)); }, timeoutMs);
        const off = engine.on("status", (status) => {
            if (status.state !== wanted) return;
            clearTimeout(timer);
            off();
            resolve();
        });
    });
}

describe("engine process", function () {
    this.timeout(120_000);
    let engine: EngineProcess | undefined;
    afterEach(() => engine?.dispose());

    it("loads a model and completes in a child process", async () => {
        engine = start();
        const info = await engine.request("load", { modelPath: await ensureFixture("rand"), threads: 1 });
        assert.equal(info.architecture, "llama");
        assert.equal(engine.state, "ready");
        const result = await engine.request("complete", { prefix: "const a = ", suffix: "", maxTokens: 4 });
        assert.ok(result.generatedTokens <= 4);
    });

    it("reports a clear error for a missing model without dying", async () => {
        engine = start();
        await assert.rejects(engine.request("load", { modelPath: "/nonexistent/model.gguf" }), /Model file not found/);
        assert.equal(engine.state, "error");
        assert.equal((await engine.request("status", undefined)).state, "error");
    });

    it("cancels an in-flight request in the engine", async () => {
        engine = start();
        await engine.request("load", { modelPath: await ensureFixture("rand"), threads: 1 });
        const controller = new AbortController();
        const pending = engine.request("generate", { prompt: "function main() {\n", maxTokens: 400 }, {
            signal: controller.signal,
            onProgress: () => controller.abort(),
        });
        await assert.rejects(pending, (error: Error & { code?: string }) => error.code === "CANCELLED");
        // The engine is still serving.
        assert.ok((await engine.request("complete", { prefix: "x", suffix: "", maxTokens: 2 })).generatedTokens <= 2);
    });

    it("restarts a crashed engine and restores its model", async () => {
        engine = start();
        await engine.request("load", { modelPath: await ensureFixture("rand"), threads: 1 });
        const firstPid = engine.pid;
        const inFlight = engine.request("generate", { prompt: "function main() {\n", maxTokens: 100000 });
        process.kill(firstPid!, "SIGKILL");
        await assert.rejects(inFlight, (error: Error & { code?: string }) => error.code === "ENGINE_CRASHED");
        assert.equal(engine.state, "starting");
        await waitForState(engine, "ready");
        assert.notEqual(engine.pid, firstPid);
        assert.ok((await engine.request("complete", { prefix: "x", suffix: "", maxTokens: 2 })).generatedTokens <= 2);
    });

    it("gives up after bounded restarts and says so", async () => {
        engine = start([20]);
        await engine.request("load", { modelPath: await ensureFixture("rand"), threads: 1 });
        const restarted = waitForState(engine, "starting");
        process.kill(engine.pid!, "SIGKILL");
        await restarted;
        await waitForState(engine, "ready");
        process.kill(engine.pid!, "SIGKILL");
        await waitForState(engine, "error");
        await assert.rejects(engine.request("status", undefined), /not running/);
        await engine.restart();
        assert.equal(engine.state, "ready");
    });
});
