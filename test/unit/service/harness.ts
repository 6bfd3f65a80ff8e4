// A service on a throwaway directory with the real Engine, and raw socket clients that can send
// anything at all, for the service tests.
import { mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import os from "node:os";
import path from "node:path";
import { Engine } from "../../../src/engine/engine.ts";
import { readToken } from "../../../src/engine/service/credentials.ts";
import { serviceLocation, type ServiceLocation } from "../../../src/engine/service/location.ts";
import { sharedEngineSlots, startEngineService, type EngineService, type ServiceLimits } from "../../../src/engine/service/server.ts";
import { FrameReader, encodeFrame, maxFrameBytes, wireProtocolVersion } from "../../../src/engine/service/wire.ts";

export const testVersion = "0.0.0-test";

export interface Harness {
    dir: string;
    location: ServiceLocation;
    service: EngineService;
    engine: Engine;
    logs: string[];
    /** Resolves with the first log line matching `pattern` (waits for it). */
    logged(pattern: RegExp, timeoutMs?: number): Promise<string>;
    stop(): Promise<void>;
}

export function tempServiceDir(): string {
    // Short: Unix socket paths have a length limit.
    return mkdtempSync(path.join(os.tmpdir(), "clasp-svc-"));
}

export async function startHarness(options: { idleExitMs?: number; limits?: Partial<ServiceLimits>; dir?: string } = {}): Promise<Harness> {
    const dir = options.dir ?? tempServiceDir();
    const location = serviceLocation(testVersion, "shared", path.join(dir, "engine"));
    const logs: string[] = [];
    const engine = new Engine({ slots: sharedEngineSlots });
    const service = await startEngineService({ location, version: testVersion, engine, idleExitMs: options.idleExitMs ?? 60_000, limits: options.limits, log: (line) => logs.push(line) });
    return {
        dir,
        location,
        service,
        engine,
        logs,
        logged: (pattern, timeoutMs = 10_000) => waitFor(() => logs.find((line) => pattern.test(line)), `a log line matching ${pattern}; got:\n${logs.join("\n")}`, timeoutMs),
        async stop() {
            await service.close("test over");
            rmSync(dir, { recursive: true, force: true });
        },
    };
}

/** A socket speaking frames, with every frame received kept in order. */
export class RawClient {
    readonly frames: Record<string, unknown>[] = [];
    private readonly reader = new FrameReader(maxFrameBytes);
    closed = false;
    private nextId = 1;

    private constructor(readonly socket: Socket) {
        socket.on("data", (chunk: Buffer) => {
            for (const frame of this.reader.push(chunk)) this.frames.push(frame as Record<string, unknown>);
        });
        socket.on("close", () => (this.closed = true));
        socket.on("error", () => undefined);
    }

    static open(location: ServiceLocation): Promise<RawClient> {
        return new Promise((resolve, reject) => {
            const socket = connect(location.socket, () => resolve(new RawClient(socket)));
            socket.once("error", reject);
        });
    }

    /** Connected and welcomed with the right token. */
    static async welcomed(location: ServiceLocation, name = "test client"): Promise<RawClient> {
        const client = await RawClient.open(location);
        client.send(helloFor(location, name));
        const first = await client.frame((frame) => frame.kind === "welcome" || frame.kind === "refused");
        if (first.kind !== "welcome") throw new Error(`not welcomed: ${JSON.stringify(first)}`);
        return client;
    }

    send(value: unknown): void {
        this.socket.write(encodeFrame(value));
    }

    /** Sends a request; resolves with its response or error frame. */
    async request(method: string, params: unknown): Promise<Record<string, unknown>> {
        const id = this.nextId++;
        this.send({ kind: "request", id, method, params });
        return this.frame((frame) => frame.id === id && (frame.kind === "response" || frame.kind === "error"));
    }

    /** Sends a request without waiting; returns its id. */
    start(method: string, params: unknown): number {
        const id = this.nextId++;
        this.send({ kind: "request", id, method, params });
        return id;
    }

    frame(matches: (frame: Record<string, unknown>) => boolean, timeoutMs = 30_000): Promise<Record<string, unknown>> {
        return waitFor(() => this.frames.find(matches), "a matching frame", timeoutMs, () => this.closed);
    }

    waitClosed(timeoutMs = 10_000): Promise<true> {
        return waitFor(() => (this.closed ? true : undefined), "the socket to close", timeoutMs);
    }

    close(): void {
        this.socket.destroy();
    }
}

export function helloFor(location: ServiceLocation, client: string, overrides: Record<string, unknown> = {}) {
    return { kind: "hello", token: readToken(location.token), version: testVersion, protocol: wireProtocolVersion, client, ...overrides };
}

export async function waitFor<T>(probe: () => T | undefined, what: string, timeoutMs = 10_000, gaveUp?: () => boolean): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = probe();
        if (value !== undefined) return value;
        if (gaveUp?.()) {
            // One last look: the frame may have arrived with the close.
            const last = probe();
            if (last !== undefined) return last;
            throw new Error(`gave up waiting for ${what}: the socket closed`);
        }
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
    }
}
