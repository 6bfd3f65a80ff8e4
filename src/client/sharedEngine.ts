// This window's handle on the per-user engine service: connects to the engine every window of
// this version shares, starting it (detached) when there is none; when the connection drops (the
// engine crashed or was killed) it fails the requests in flight with ENGINE_CRASHED, shows
// "starting", and connects again (whichever window gets there first starts the new engine),
// bringing back this window's settings and model. A window of another version, or one the user
// gave its own model, gets an engine of its own under another key.
import { createHash } from "node:crypto";
import type { Socket } from "node:net";
import path from "node:path";
import type { EngineEvents, EngineMethods, EngineState, LoadOptions, ModelInfo, SpeculationSettings } from "../engine/protocol.ts";
import { EngineError, RpcClient } from "../engine/rpc.ts";
import { serviceDir, serviceLocation, sharedEngineKey } from "../engine/service/location.ts";
import { modelConflictCode } from "../engine/service/modelBroker.ts";
import { encodeFrame } from "../engine/service/wire.ts";
import type { EngineClient, RequestOptions } from "./engineClient.ts";
import { connectToService } from "./serviceSocket.ts";
import { spawnEngine } from "./spawnEngine.ts";

export type ConflictChoice = "shared" | "own";

export interface SharedEngineOptions {
    enginePath: string;
    execArgv?: string[];
    /** This extension's version: only an engine of the same version is spoken to. */
    version: string;
    /** Names this window in the engine's log. */
    clientName: string;
    log(line: string): void;
    /** How long the engine stays after its last window leaves. */
    idleExitMs: number;
    /** The service directory (default: the per-user one). */
    dir?: string;
    /**
     * Asked when the shared engine already runs another model for other windows: keep using that
     * one ("shared"), or start an engine of this window's own for the model it asked for.
     */
    onModelConflict?(message: string): Promise<ConflictChoice>;
    /** Delays before reconnect attempts after the engine went away; after the last, "error". */
    backoffMs?: number[];
    /** A crash-free connection this long resets the backoff. */
    stableAfterMs?: number;
    /** How long a started engine may take to answer. */
    startTimeoutMs?: number;
}

type Listener = (payload: unknown) => void;

interface Link {
    socket: Socket;
    rpc: RpcClient;
    pid: number;
    connectedAt: number;
}

export class SharedEngine implements EngineClient {
    private link?: Link;
    private connecting?: Promise<void>;
    private currentState: EngineState = "starting";
    private key = sharedEngineKey;
    private crashes = 0;
    private disposed = false;
    private focused = false;
    private lastLoad?: LoadOptions;
    private lastSettings: Partial<SpeculationSettings> = {};
    private readonly listeners = new Map<string, Set<Listener>>();
    private readonly backoffMs: number[];
    private readonly dir: string;

    constructor(private readonly options: SharedEngineOptions) {
        this.backoffMs = options.backoffMs ?? [50, 500, 2000, 5000];
        this.dir = options.dir ?? serviceDir();
        this.reconnect();
    }

    get state(): EngineState {
        return this.currentState;
    }

    /** The engine's process id (one for every window sharing it). */
    get pid(): number | undefined {
        return this.link?.pid;
    }

    /** Resolves once connected (or the attempt failed); for callers that must not race the start. */
    ready(): Promise<void> {
        return this.connecting ?? Promise.resolve();
    }

    async request<M extends keyof EngineMethods>(method: M, params: EngineMethods[M]["params"], options?: RequestOptions): Promise<EngineMethods[M]["result"]> {
        if (this.disposed) throw new EngineError("Engine client disposed", "DISPOSED");
        if (method === "configure") this.lastSettings = { ...this.lastSettings, ...(params as Partial<SpeculationSettings>) };
        if (method === "load") this.lastLoad = params as LoadOptions;
        // A connection being made restores the settings and model itself; asking again is cheap
        // (the same model is not loaded twice).
        if (this.connecting) await this.connecting;
        if (method === "load") return this.load(params as LoadOptions) as Promise<EngineMethods[M]["result"]>;
        const link = this.link;
        if (!link) throw new EngineError("The engine is not running", "ENGINE_DOWN");
        return link.rpc.request(method, params, options);
    }

    on<E extends keyof EngineEvents>(event: E, listener: (payload: EngineEvents[E]) => void): () => void {
        let set = this.listeners.get(event);
        if (!set) this.listeners.set(event, (set = new Set()));
        set.add(listener as Listener);
        return () => set.delete(listener as Listener);
    }

    /** The window's focus, so the engine serves the focused window's completions first. */
    setFocused(focused: boolean): void {
        this.focused = focused;
        if (this.link && !this.link.socket.destroyed) this.link.socket.write(encodeFrame({ kind: "focus", focused }));
    }

    /** Stops the engine this window uses (every window on it reconnects to a fresh one). */
    async restart(): Promise<void> {
        this.crashes = 0;
        const pid = this.link?.pid;
        this.drop();
        if (pid !== undefined) await stopProcess(pid);
        this.reconnect();
        await this.connecting;
    }

    dispose(): void {
        this.disposed = true;
        this.drop();
        this.listeners.clear();
    }

    private async load(options: LoadOptions): Promise<ModelInfo> {
        const link = this.link;
        if (!link) throw new EngineError("The engine is not running", "ENGINE_DOWN");
        try {
            return await link.rpc.request("load", options);
        } catch (error) {
            if ((error as EngineError).code !== modelConflictCode || !this.options.onModelConflict) throw error;
            this.options.log(`CLaSp engine: ${(error as Error).message}`);
            const choice = await this.options.onModelConflict((error as Error).message);
            if (this.link !== link) throw error;
            if (choice === "own") {
                this.key = ownEngineKey(options.modelPath);
                this.options.log(`Starting an engine of this window's own for ${options.modelPath}`);
                this.lastLoad = options;
                this.drop();
                // Also reached while restoring inside connect(): connect again directly, not through
                // reconnect(), which would wait for the connect that is waiting for this.
                const switching = this.connect();
                this.connecting ??= switching.finally(() => (this.connecting = undefined));
                await switching;
                if (!this.link) throw new EngineError("The window's own engine did not start", "ENGINE_DOWN");
                return this.link.rpc.request("load", options);
            }
            const shared = (await link.rpc.request("status", undefined)).model;
            if (!shared) throw error;
            // From now on this window asks for the shared model, also after a restart.
            this.lastLoad = { ...options, modelPath: shared.path };
            this.options.log(`Using the shared engine's model ${shared.path} instead of ${options.modelPath}`);
            return link.rpc.request("load", this.lastLoad);
        }
    }

    private reconnect(): void {
        if (this.disposed || this.connecting) return;
        this.setState("starting");
        this.connecting = this.connect()
            .catch((error: unknown) => {
                this.options.log(`CLaSp engine: ${error instanceof Error ? error.message : String(error)}`);
                this.onLost();
            })
            .finally(() => (this.connecting = undefined));
    }

    private async connect(): Promise<void> {
        const startTimeoutMs = this.options.startTimeoutMs ?? 30_000;
        const deadline = Date.now() + startTimeoutMs;
        let spawned = false;
        let lastReason = "";
        while (!this.disposed) {
            const location = serviceLocation(this.options.version, this.key, this.dir);
            const attempt = await connectToService(location, {
                version: this.options.version,
                client: this.options.clientName,
                idleExitMs: this.options.idleExitMs,
                focused: this.focused,
            });
            if (attempt.kind === "open") {
                if (this.disposed) return void attempt.socket.destroy();
                return this.attach(attempt.socket, new RpcClient(attempt.channel), attempt.welcome.pid, attempt.welcome.status.state);
            }
            if (attempt.kind === "refused") {
                lastReason = attempt.refused.reason;
                if (attempt.refused.code === "VERSION_MISMATCH") {
                    // Never talk to an incompatible engine: this window gets one of its own.
                    this.options.log(`CLaSp engine: ${attempt.refused.reason}; starting one for this window`);
                    this.key = `private-${process.pid}`;
                    spawned = false;
                    continue;
                }
                // BAD_TOKEN: the token file changed under us (an engine was just replaced); read it again.
            } else {
                lastReason = attempt.reason;
                if (!spawned) {
                    spawnEngine(location, { ...this.options, key: this.key });
                    spawned = true;
                }
            }
            if (Date.now() > deadline) throw new Error(`the engine did not start within ${startTimeoutMs / 1000} s (${lastReason}); see ${location.log}`);
            await sleep(50);
        }
    }

    private async attach(socket: Socket, rpc: RpcClient, pid: number, state: EngineState): Promise<void> {
        const link: Link = { socket, rpc, pid, connectedAt: Date.now() };
        this.link = link;
        rpc.on("status", (status) => {
            this.currentState = status.state;
            this.emit("status", status);
        });
        rpc.on("stats", (stats) => this.emit("stats", stats));
        rpc.on("log", (entry) => {
            this.options.log(`[engine ${entry.level}] ${entry.message}`);
            this.emit("log", entry);
        });
        socket.on("close", () => {
            if (this.link !== link) return;
            this.link = undefined;
            rpc.failAll(new EngineError(`The engine (pid ${pid}) stopped in the middle of this request; it is restarting`, "ENGINE_CRASHED"));
            rpc.dispose();
            if (Date.now() - link.connectedAt > (this.options.stableAfterMs ?? 60_000)) this.crashes = 0;
            this.options.log(`CLaSp engine (pid ${pid}) went away; reconnecting`);
            this.onLost();
        });
        this.options.log(`CLaSp engine: connected to pid ${pid} (${socket.remoteAddress ?? path.basename(serviceLocation(this.options.version, this.key, this.dir).socket)})`);
        this.setState(state);
        await this.restore(link);
    }

    /** Brings the engine to this window's settings and model (shared: loads only if it lacks it). */
    private async restore(link: Link): Promise<void> {
        // Failures are logged, not thrown: the connection stands, and a dead engine reads as a close.
        const note = (what: string) => (error: unknown) => this.options.log(`Restoring the ${what} failed: ${String(error)}`);
        if (Object.keys(this.lastSettings).length > 0) await link.rpc.request("configure", this.lastSettings).catch(note("settings"));
        if (this.lastLoad && this.link === link) await this.load(this.lastLoad).catch(note("model"));
    }

    private onLost(): void {
        if (this.disposed) return;
        const delay = this.backoffMs[this.crashes];
        if (delay === undefined) {
            const message = `The engine stopped ${this.crashes + 1} times; it stays stopped. Run "CLaSp: Restart Engine" to try again.`;
            this.options.log(message);
            this.setState("error", message);
            return;
        }
        this.crashes++;
        this.setState("starting");
        // Jitter, so the windows of a crashed engine do not all start one at the same instant.
        setTimeout(() => this.reconnect(), delay + Math.random() * 50);
    }

    /** Leaves the engine on purpose (dispose, restart, switching engines): no crash handling. */
    private drop(): void {
        const link = this.link;
        this.link = undefined;
        if (!link) return;
        link.rpc.failAll(new EngineError("The engine was stopped", "ENGINE_STOPPED"));
        link.rpc.dispose();
        link.socket.destroy();
        this.setState("stopped");
    }

    private setState(state: EngineState, error?: string): void {
        if (state === this.currentState && !error) return;
        this.currentState = state;
        this.emit("status", { state, error });
    }

    private emit(event: string, payload: unknown): void {
        for (const listener of this.listeners.get(event) ?? []) listener(payload);
    }
}

/** The key of an engine for one model, so windows that asked for the same other model share it. */
export function ownEngineKey(modelPath: string): string {
    return `model-${createHash("sha256").update(modelPath).digest("hex").slice(0, 12)}`;
}

/** SIGTERM (the engine removes its files and exits), then SIGKILL if it is still there after 3 s. */
async function stopProcess(pid: number): Promise<void> {
    try {
        process.kill(pid, "SIGTERM");
    } catch {
        return;
    }
    for (let waited = 0; waited < 3000; waited += 50) {
        await sleep(50);
        try {
            process.kill(pid, 0);
        } catch {
            return;
        }
    }
    try {
        process.kill(pid, "SIGKILL");
    } catch {
        // Gone meanwhile.
    }
}

function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}
