import assert from "node:assert/strict";
import { channelPair, RpcClient, serve, cancelledCode, type Handlers } from "../../src/engine/rpc.ts";
import type { CompletionResult } from "../../src/engine/protocol.ts";

const result = (text: string): CompletionResult => ({
    text, generatedTokens: 1, stopReason: "eog", usedFim: false,
    timings: { promptTokens: 1, reusedTokens: 0, promptMs: 0, firstTokenMs: 0, totalMs: 0, tokensPerSecond: 0 },
});

function fakeHandlers(overrides: Partial<Handlers>): Handlers {
    const fail = async () => { throw new Error("not used"); };
    return { load: fail, unload: fail, complete: fail, generate: fail, configure: fail, status: fail, download: fail, ...overrides };
}

describe("rpc", () => {
    it("answers a request with the handler's result", async () => {
        const [client, server] = channelPair();
        serve(server, fakeHandlers({ complete: async (params) => result(params.prefix.toUpperCase()) }));
        const rpc = new RpcClient(client);
        const answer = await rpc.request("complete", { prefix: "abc", suffix: "" });
        assert.equal(answer.text, "ABC");
    });

    it("carries errors with their code across the channel", async () => {
        const [client, server] = channelPair();
        serve(server, fakeHandlers({
            load: async () => { throw Object.assign(new Error("Model file not found: /x"), { code: "MODEL_NOT_FOUND" }); },
        }));
        await assert.rejects(new RpcClient(client).request("load", { modelPath: "/x" }), (error: Error & { code?: string }) => {
            assert.equal(error.code, "MODEL_NOT_FOUND");
            assert.match(error.message, /not found/);
            return true;
        });
    });

    it("cancellation reaches the handler's signal and stops the work", async () => {
        const [client, server] = channelPair();
        let handlerSawAbort = false;
        serve(server, fakeHandlers({
            complete: (_params, { signal }) => new Promise((_resolve, reject) => {
                signal.addEventListener("abort", () => {
                    handlerSawAbort = true;
                    reject(Object.assign(new Error("Request cancelled"), { code: cancelledCode }));
                });
            }),
        }));
        const controller = new AbortController();
        const pending = new RpcClient(client).request("complete", { prefix: "", suffix: "" }, { signal: controller.signal });
        setTimeout(() => controller.abort(), 5);
        await assert.rejects(pending, (error: Error & { code?: string }) => error.code === cancelledCode);
        assert.ok(handlerSawAbort);
    });

    it("streams progress for the request that asked, and events to listeners", async () => {
        const [client, server] = channelPair();
        const served = serve(server, fakeHandlers({
            generate: async (_params, { progress }) => {
                progress({ text: "a" });
                progress({ text: "b" });
                return result("ab");
            },
        }));
        const rpc = new RpcClient(client);
        const chunks: string[] = [];
        const states: string[] = [];
        rpc.on("status", (status) => states.push(status.state));
        await rpc.request("generate", { prompt: "x" }, { onProgress: (p) => chunks.push((p as { text: string }).text) });
        served.emit("status", { state: "ready" });
        await new Promise((r) => setTimeout(r, 5));
        assert.deepEqual(chunks, ["a", "b"]);
        assert.deepEqual(states, ["ready"]);
    });

    it("fails waiting requests when the channel's peer dies", async () => {
        const [client] = channelPair();
        const rpc = new RpcClient(client);
        const pending = rpc.request("status", undefined);
        rpc.failAll(Object.assign(new Error("gone"), { code: "ENGINE_CRASHED" }));
        await assert.rejects(pending, /gone/);
    });
});
