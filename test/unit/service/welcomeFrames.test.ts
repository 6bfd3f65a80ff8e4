// A status event that arrives in the same chunk as the welcome (the engine finished loading the
// model just as this window connected) reaches the window's listeners. It used to be delivered
// before the caller could subscribe, and the window then read "loading" for ever (no ghost text).
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { connectToService } from "../../../src/client/serviceSocket.ts";
import type { Message } from "../../../src/engine/rpc.ts";
import { serviceLocation } from "../../../src/engine/service/location.ts";
import { FrameReader, encodeFrame, maxFrameBytes, wireProtocolVersion } from "../../../src/engine/service/wire.ts";
import { tempServiceDir, testVersion } from "./harness.ts";

describe("service socket: frames that arrive with the welcome", () => {
    let dir: string;
    let server: Server;

    beforeEach(() => {
        dir = tempServiceDir();
    });
    afterEach(async () => {
        await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
        rmSync(dir, { recursive: true, force: true });
    });

    it("hands them to the listener the caller subscribes after the handshake, in order", async () => {
        const location = serviceLocation(testVersion, "shared", dir);
        writeFileSync(location.token, "secret\n", { mode: 0o600 });
        const ready: Message = { kind: "event", event: "status", payload: { state: "ready" } };
        const log: Message = { kind: "event", event: "log", payload: { level: "info", message: "loaded" } };
        server = createServer((socket) => {
            const reader = new FrameReader(maxFrameBytes);
            socket.on("data", (chunk) => {
                if (reader.push(chunk).length === 0) return;
                // one write: the welcome still says "loading", the event right behind it says "ready"
                const welcome = { kind: "welcome", version: testVersion, protocol: wireProtocolVersion, pid: process.pid, status: { state: "loading" } };
                socket.write(Buffer.concat([encodeFrame(welcome), encodeFrame(ready), encodeFrame(log)]));
            });
        });
        await new Promise<void>((resolve) => server.listen(location.socket, resolve));

        const attempt = await connectToService(location, { version: testVersion, client: "test" });
        assert.equal(attempt.kind, "open");
        if (attempt.kind !== "open") return;
        assert.equal(attempt.welcome.status.state, "loading");
        const received: Message[] = [];
        attempt.channel.onMessage((message) => received.push(message));
        await new Promise((resolve) => setTimeout(resolve, 50));
        attempt.socket.destroy();
        assert.deepEqual(received, [ready, log]);
    });
});
