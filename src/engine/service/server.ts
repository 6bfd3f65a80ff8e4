// The per-user engine service: one Engine behind a socket in a private directory, shared by
// every window of this extension version. It admits only clients that quote the token, speaks
// only to the same version, schedules windows fairly, broadcasts the engine's events to all of
// them, and exits by itself a while after its last window leaves, or as soon as another engine
// has replaced its files (or they were deleted).
import { chmodSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { serve, type Handlers } from "../rpc.ts";
import type { EngineEvents } from "../protocol.ts";
import { Connection } from "./connection.ts";
import { acquireLock, ownsLock, removeFile, tokensMatch, writeToken } from "./credentials.ts";
import { defaultIdleExitMinutes, ensurePrivateDir, type ServiceLocation } from "./location.ts";
import { ModelBroker } from "./modelBroker.ts";
import { IdleReclaimer, idleReclaimQuietMs } from "./idleReclaim.ts";
import { FairScheduler } from "./scheduler.ts";
import { createWindowHandlers, type ServedEngine } from "./windowHandlers.ts";
import { wireProtocolVersion, type Hello } from "./wire.ts";

export interface ServiceLimits {
    /** Open sockets at once, authenticated or not. */
    maxConnections: number;
    /** Sockets that have not finished the handshake yet. */
    maxHandshaking: number;
    helloTimeoutMs: number;
    /** How often the engine checks that its lock is still its own. */
    watchdogMs: number;
    /** No request for this long, and the engine gives back the memory a busy spell left (idleReclaim.ts). */
    reclaimQuietMs: number;
}

export const defaultServiceLimits: ServiceLimits = { maxConnections: 64, maxHandshaking: 8, helloTimeoutMs: 3000, watchdogMs: 2000, reclaimQuietMs: idleReclaimQuietMs };

export const defaultIdleExitMs = defaultIdleExitMinutes * 60_000;

/**
 * KV-cache sequences the shared engine keeps, one per window (engine.ts `slots`): three windows
 * switch without re-evaluating each other's prompts; a fourth takes the least recently used one's.
 * Each costs a full context of KV memory (SmolLM2 at 4096 tokens: 94 MB), so it stays small.
 */
export const sharedEngineSlots = 3;

export interface ServiceOptions {
    location: ServiceLocation;
    version: string;
    engine: ServedEngine;
    idleExitMs?: number;
    limits?: Partial<ServiceLimits>;
    log(line: string): void;
}

export interface EngineService {
    /** Windows connected now. */
    readonly windows: number;
    /** Stops serving, removes the files if they are still this engine's, disposes the engine. */
    close(reason: string): Promise<void>;
    /** Resolves when the service has closed (idle exit, replaced, or close()). */
    readonly closed: Promise<string>;
}

/** Refused-connection log lines per second at most; a flood must not flood the log too. */
const refusalLogsPerSecond = 5;

export async function startEngineService(options: ServiceOptions): Promise<EngineService> {
    const { location, version, engine, log } = options;
    const limits = { ...defaultServiceLimits, ...options.limits };
    let idleExitMs = options.idleExitMs ?? defaultIdleExitMs;
    ensurePrivateDir(location.dir);
    acquireLock(location.lock, log);
    // The lock is ours, so any socket file left here belongs to a dead engine.
    if (process.platform !== "win32") removeFile(location.socket);
    const token = writeToken(location.token);

    const reclaimer = new IdleReclaimer(() => {
        try {
            engine.reclaimIdleMemory();
        } catch (error) {
            // housekeeping: a failure costs memory, never the engine
            log(`idle memory reclaim failed: ${error instanceof Error ? error.message : String(error)}`);
        }
    }, limits.reclaimQuietMs);
    const scheduler = new FairScheduler(reclaimer);
    const broker = new ModelBroker(engine);
    const open = new Map<Connection, { window: string; handlers: Handlers; emit<E extends keyof EngineEvents>(event: E, payload: EngineEvents[E]): void; close(): void }>();
    const sockets = new Set<Socket>();
    let nextConnection = 1;
    let nextWindow = 1;
    let handshaking = 0;
    let closing: Promise<void> | undefined;
    let resolveClosed!: (reason: string) => void;
    const closed = new Promise<string>((resolve) => (resolveClosed = resolve));
    const liveWindows = () => new Set([...open.values()].map((entry) => entry.window));

    let refusalLogs = 0;
    let refusalsUnlogged = 0;
    const refusalWindow = setInterval(() => {
        if (refusalsUnlogged > 0) log(`${refusalsUnlogged} more connections refused in the last second`);
        refusalLogs = 0;
        refusalsUnlogged = 0;
    }, 1000);
    const logRefusal = (line: string) => {
        if (refusalLogs++ < refusalLogsPerSecond) log(line);
        else refusalsUnlogged++;
    };

    let idleTimer: NodeJS.Timeout | undefined;
    const armIdleTimer = () => {
        clearTimeout(idleTimer);
        idleTimer = open.size === 0 ? setTimeout(() => void close(`no window for ${Math.round(idleExitMs / 1000)} s`), idleExitMs) : undefined;
    };

    const broadcast = <E extends keyof EngineEvents>(event: E, payload: EngineEvents[E]) => {
        for (const entry of open.values()) entry.emit(event, payload);
    };
    const stopEvents = [
        engine.on("status", (status) => broadcast("status", status)),
        // A window's stats are those of its own requests (its own sequence and decoder): sent to it
        // alone, or every status bar would show whichever window completed last.
        engine.on("stats", (stats, slot) => {
            for (const entry of open.values()) if (slot === undefined || entry.window === slot) entry.emit("stats", stats);
        }),
        engine.on("log", (entry) => broadcast("log", entry)),
    ];

    const hooks = {
        admit(hello: Hello) {
            if (!tokensMatch(hello.token, token)) return { code: "BAD_TOKEN" as const, reason: "wrong token: the client cannot read this user's token file" };
            if (hello.version !== version || hello.protocol !== wireProtocolVersion)
                return { code: "VERSION_MISMATCH" as const, reason: `this engine is version ${version} (wire ${wireProtocolVersion}), the client ${hello.version} (wire ${hello.protocol})` };
            return undefined;
        },
        welcome: () => ({ kind: "welcome", version, protocol: wireProtocolVersion, pid: process.pid, status: engine.getStatus() }),
        refusal: (code: string, reason: string) => ({ kind: "refused", code, reason, version, protocol: wireProtocolVersion }),
        opened(connection: Connection) {
            handshaking--;
            const window = `w${nextWindow++}`;
            const handlers = createWindowHandlers({ window, engine, scheduler, broker, liveWindows });
            open.set(connection, { window, handlers, ...serve(connection.channel, handlers) });
            if (connection.hello?.idleExitMs !== undefined) idleExitMs = connection.hello.idleExitMs;
            scheduler.setFocused(window, connection.hello?.focused === true);
            armIdleTimer();
            log(`${connection.describe()} connected as ${window}; ${open.size} window(s)`);
        },
        closed(connection: Connection) {
            const entry = open.get(connection);
            if (!entry) return;
            open.delete(connection);
            // Its requests stop at the next round and its queue slot is freed for the others.
            entry.close();
            scheduler.dropWindow(entry.window);
            broker.forget(entry.window);
            engine.releaseSlot(entry.window);
            log(`${connection.describe()} left; ${open.size} window(s)`);
            armIdleTimer();
        },
        focus(connection: Connection, focused: boolean) {
            const entry = open.get(connection);
            if (entry) scheduler.setFocused(entry.window, focused);
        },
        // Own keys only: "constructor" or "__proto__" are no methods.
        knows: (connection: Connection, method: string) => Object.hasOwn(open.get(connection)?.handlers ?? {}, method),
        log,
    };

    const server: Server = createServer((socket) => {
        sockets.add(socket);
        socket.on("close", () => sockets.delete(socket));
        if (closing) return void socket.destroy();
        if (sockets.size > limits.maxConnections) {
            logRefusal(`refused a connection: ${limits.maxConnections} already open`);
            return void socket.destroy();
        }
        if (handshaking >= limits.maxHandshaking) {
            logRefusal(`refused a connection: ${limits.maxHandshaking} others are still in their handshake`);
            return void socket.destroy();
        }
        handshaking++;
        const connection = new Connection(socket, hooks, nextConnection++, limits.helloTimeoutMs);
        socket.on("close", () => { if (!connection.hello) handshaking--; });
    });
    server.on("error", (error) => log(`engine socket error: ${error.message}`));
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(location.socket, () => {
            server.off("error", reject);
            resolve();
        });
    });
    if (process.platform !== "win32") chmodSync(location.socket, 0o600);
    log(`engine ${version} (pid ${process.pid}) serving ${location.socket}`);
    armIdleTimer();

    const watchdog = setInterval(() => {
        if (!ownsLock(location.lock)) void close("its lock file was replaced or removed (another engine took over)", false);
    }, limits.watchdogMs);

    async function close(reason: string, removeFiles = true): Promise<void> {
        closing ??= (async () => {
            log(`engine stopping: ${reason}`);
            clearInterval(watchdog);
            clearInterval(refusalWindow);
            clearTimeout(idleTimer);
            reclaimer.dispose();
            server.close();
            for (const socket of sockets) socket.destroy();
            for (const stop of stopEvents) stop();
            // Only files that are still ours: a newer engine may already own the names.
            if (removeFiles && ownsLock(location.lock)) {
                if (process.platform !== "win32") removeFile(location.socket);
                removeFile(location.token);
                removeFile(location.lock);
            }
            await engine.dispose().catch((error: unknown) => log(`engine dispose failed: ${String(error)}`));
            resolveClosed(reason);
        })();
        return closing;
    }

    return {
        get windows() {
            return open.size;
        },
        close,
        closed,
    };
}
