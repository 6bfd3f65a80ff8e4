import assert from "node:assert/strict";
import { ensureFixture } from "../../../src/fixtures/index.ts";
import { helloFor, RawClient, startHarness, type Harness } from "./harness.ts";

// Whatever arrives at the socket, the engine logs why it refused it and keeps serving the window
// that behaves: each test ends with that window getting a completion.
describe("engine service: bad input at the socket", function () {
    this.timeout(60_000);
    let harness: Harness;
    let good: RawClient;

    before(async () => {
        harness = await startHarness({ limits: { helloTimeoutMs: 500, maxHandshaking: 8 } });
        good = await RawClient.welcomed(harness.location, "good window");
        const loaded = await good.request("load", { modelPath: await ensureFixture("rand"), threads: 1 });
        assert.equal(loaded.kind, "response", JSON.stringify(loaded));
    });
    after(async () => {
        good.close();
        await harness.stop();
    });

    async function stillServing(): Promise<void> {
        const answer = await good.request("complete", { prefix: "const a = ", suffix: "", maxTokens: 3, mode: "off" });
        assert.equal(answer.kind, "response", JSON.stringify(answer));
        assert.ok(good.frames.length > 0 && !good.closed, "the good window's connection went away");
    }

    it("closes a connection that sends garbage bytes, saying why", async () => {
        const raw = await RawClient.open(harness.location);
        raw.socket.write(Buffer.from("\x00\x00\x00\x10this is not json"));
        await raw.waitClosed();
        await harness.logged(/closed: frame is not JSON/);
        await stillServing();
    });

    it("refuses an oversized frame before reading its body, before and after the handshake", async () => {
        const raw = await RawClient.open(harness.location);
        const header = Buffer.alloc(4);
        header.writeUInt32BE(0xffff_fff0, 0);
        raw.socket.write(header);
        await raw.waitClosed();
        await harness.logged(/frame of 4294967280 bytes is over the 4096-byte limit/);

        const authed = await RawClient.welcomed(harness.location, "oversized sender");
        const big = Buffer.alloc(4);
        big.writeUInt32BE(64 * 1024 * 1024, 0);
        authed.socket.write(big);
        await authed.waitClosed();
        await harness.logged(/oversized sender\) closed: frame of 67108864 bytes is over the 33554432-byte limit/);
        await stillServing();
    });

    it("logs a peer that hangs up in the middle of a frame", async () => {
        const raw = await RawClient.welcomed(harness.location, "truncating window");
        const header = Buffer.alloc(4);
        header.writeUInt32BE(100, 0);
        raw.socket.end(Buffer.concat([header, Buffer.from('{"kind":"req')]));
        await raw.waitClosed();
        await harness.logged(/truncating window\) closed: hung up in the middle of a frame \(16 bytes unread\)/);
        await stillServing();
    });

    it("answers an unknown method with an error and logs it, keeping the connection", async () => {
        const raw = await RawClient.welcomed(harness.location, "curious window");
        for (const method of ["shutdown", "constructor", "__proto__"]) {
            const answer = await raw.request(method, {});
            assert.equal(answer.kind, "error");
            assert.equal((answer.error as { code: string }).code, "UNKNOWN_METHOD");
        }
        await harness.logged(/curious window\) asked for the unknown method "constructor"/);
        assert.equal((await raw.request("status", undefined)).kind, "response");
        raw.close();
        await stillServing();
    });

    it("closes a connection whose frames are JSON but not messages", async () => {
        const raw = await RawClient.welcomed(harness.location, "confused window");
        raw.send({ kind: "request", id: -1, method: "status" });
        await raw.waitClosed();
        await harness.logged(/confused window\) closed: malformed frame: request frame without a valid id/);
        await stillServing();
    });

    it("rejects bad parameters with a clear error and carries on", async () => {
        const raw = await RawClient.welcomed(harness.location, "sloppy window");
        const answer = await raw.request("complete", { prefix: 42 });
        assert.equal(answer.kind, "error");
        assert.match((answer.error as { message: string }).message, /complete needs a string "prefix"/);
        raw.close();
        await stillServing();
    });

    it("refuses a wrong token, and a hello that is not one", async () => {
        const raw = await RawClient.open(harness.location);
        raw.send({ ...helloFor(harness.location, "impostor"), token: "0".repeat(64) });
        const refused = await raw.frame((frame) => frame.kind === "refused");
        assert.equal(refused.code, "BAD_TOKEN");
        await raw.waitClosed();
        await harness.logged(/refused \(BAD_TOKEN\)/);

        const rude = await RawClient.open(harness.location);
        rude.send({ kind: "request", id: 1, method: "status" });
        assert.equal((await rude.frame((frame) => frame.kind === "refused")).code, "BAD_HELLO");
        await stillServing();
    });

    it("refuses a client of another version", async () => {
        const raw = await RawClient.open(harness.location);
        raw.send(helloFor(harness.location, "old window", { version: "0.0.1-old" }));
        const refused = await raw.frame((frame) => frame.kind === "refused");
        assert.equal(refused.code, "VERSION_MISMATCH");
        assert.match(String(refused.reason), /this engine is version 0\.0\.0-test/);
        await stillServing();
    });

    it("survives a flood of connections that never say hello, and closes them after the timeout", async () => {
        const flood = await Promise.all(Array.from({ length: 100 }, () => RawClient.open(harness.location).catch(() => undefined)));
        await harness.logged(/refused a connection: 8 others are still in their handshake/);
        await stillServing();
        await Promise.all(flood.map((client) => client?.waitClosed()));
        await harness.logged(/closed: no hello within 500 ms/);
        // The slots are free again: a new window gets in.
        const late = await RawClient.welcomed(harness.location, "late window");
        assert.equal((await late.request("status", undefined)).kind, "response");
        late.close();
    });
});
