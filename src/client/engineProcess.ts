// Runs the engine in a child Node process, so a native crash in llama.cpp cannot take the
// extension host down. A crashed engine is restarted with bounded exponential backoff and
// brought back to where it was (same model, same settings); requests in flight at the crash
// fail with ENGINE_CRASHED instead of hanging.
import { fork, type ChildProcess } from "node:child_process";
import type { EngineEvents, EngineMethods, EngineState, LoadOptions, SpeculationSettings } from "../engine/protocol.ts";
import { EngineError, RpcClient, type Channel, type Message } from "../engine/rpc.ts";
import type { EngineClient, RequestOptions } from "./engineClient.ts";

export interface EngineProcessOptions {
    /** The bundled engine entry (dist/engine.mjs), or src/engine/main.ts with a loader in execArgv. */
    enginePath: string;
    execArgv?: string[];
    log(line: string): void;
    /** Delays before restart attempts; after the last one the engine stays in "error". */
    backoffMs?: number[];
    /** A crash-free run this long resets the backoff. */
    stableAfterMs?: number;
}

type Listener = (payload: unknown) => void;

export class EngineProcess implements EngineClient {
    private child?: ChildProcess;
    private rpc?: RpcClient;
    private currentState: EngineState = "stopped";
    private restarts = 0;
    private startedAt = 0;
    private disposed = false;
    private lastLoad?: LoadOptions;
    private lastSettings: Partial<SpeculationSettings> = {};
    private readonly listeners = new Map<string, Set<Listener>>();
    private readonly backoffMs: number[];

    constructor(private readonly options: EngineProcessOptions) {
        this.backoffMs = options.backoffMs ?? [250, 1000, 3000, 10000];
        this.spawn();
    }

    get state(): EngineState {
        return this.currentState;
    }

    /** The engine's process id (tests use it to simulate a crash). */
    get pid(): number | undefined {
        return this.child?.pid;
    }

    async request<M extends keyof EngineMethods>(method: M, params: EngineMethods[M]["params"], options?: RequestOptions): Promise<EngineMethods[M]["result"]> {
        if (this.disposed) throw new EngineError("Engine client disposed", "DISPOSED");
        if (!this.rpc) throw new EngineError("The engine is not running", "ENGINE_DOWN");
        if (method === "load") this.lastLoad = params as LoadOptions;
        if (method === "configure") this.lastSettings = { ...this.lastSettings, ...(params as Partial<SpeculationSettings>) };
        return this.rpc.request(method, params, options);
    }

    on<E extends keyof EngineEvents>(event: E, listener: (payload: EngineEvents[E]) => void): () => void {
        let set = this.listeners.get(event);
        if (!set) this.listeners.set(event, (set = new Set()));
        set.add(listener as Listener);
        return () => set.delete(listener as Listener);
    }

    async restart(): Promise<void> {
        this.restarts = 0;
        this.kill();
        this.spawn();
        await this.restore();
    }

    dispose(): void {
        this.disposed = true;
        this.kill();
        this.listeners.clear();
    }

    private spawn(): void {
        const child = fork(this.options.enginePath, [], {
            execArgv: this.options.execArgv ?? [],
            // Inside VS Code, execPath is Electron; this makes it behave as plain Node.
            env: { ...process.env, ELECTRON_RUN_AS_NODE: "1" },
            stdio: ["ignore", "pipe", "pipe", "ipc"],
        });
        this.child = child;
        this.startedAt = Date.now();
        const channel: Channel = {
            send: (message) => { if (child.connected) child.send(message); },
            onMessage: (listener) => {
                const handler = (message: unknown) => listener(message as Message);
                child.on("message", handler);
                return () => child.off("message", handler);
            },
        };
        const rpc = new RpcClient(channel);
        this.rpc = rpc;
        rpc.on("status", (status) => {
            this.currentState = status.state;
            this.emit("status", status);
        });
        rpc.on("stats", (stats) => this.emit("stats", stats));
        rpc.on("log", (entry) => {
            this.options.log(`[engine ${entry.level}] ${entry.message}`);
            this.emit("log", entry);
        });
        child.stdout?.on("data", (data: Buffer) => this.options.log(`[engine] ${data.toString().trimEnd()}`));
        child.stderr?.on("data", (data: Buffer) => this.options.log(`[engine stderr] ${data.toString().trimEnd()}`));
        child.on("exit", (code, signal) => this.onExit(child, rpc, code, signal));
        this.setState(this.lastLoad ? "starting" : "stopped");
    }

    private onExit(child: ChildProcess, rpc: RpcClient, code: number | null, signal: NodeJS.Signals | null): void {
        rpc.failAll(new EngineError(`The engine process exited (${signal ?? `code ${code}`})`, "ENGINE_CRASHED"));
        rpc.dispose();
        if (this.child !== child || this.disposed) return;
        this.child = undefined;
        this.rpc = undefined;
        if (Date.now() - this.startedAt > (this.options.stableAfterMs ?? 60_000)) this.restarts = 0;
        const delay = this.backoffMs[this.restarts];
        if (delay === undefined) {
            const message = `The engine crashed ${this.restarts + 1} times; it stays stopped. Run "CLaSp: Restart Engine" to try again.`;
            this.options.log(message);
            this.setState("error", message);
            return;
        }
        this.restarts++;
        this.options.log(`The engine process exited (${signal ?? `code ${code}`}); restarting in ${delay} ms`);
        this.setState("starting");
        setTimeout(() => {
            if (this.disposed) return;
            this.spawn();
            void this.restore().catch((error: unknown) => this.options.log(`Restoring the engine failed: ${String(error)}`));
        }, delay);
    }

    /** Brings a fresh engine back to the last model and settings. */
    private async restore(): Promise<void> {
        if (Object.keys(this.lastSettings).length > 0) await this.request("configure", this.lastSettings);
        if (this.lastLoad) await this.request("load", this.lastLoad);
    }

    private kill(): void {
        const child = this.child;
        this.child = undefined;
        this.rpc?.failAll(new EngineError("The engine was stopped", "ENGINE_STOPPED"));
        this.rpc?.dispose();
        this.rpc = undefined;
        if (child && child.exitCode === null) child.kill();
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

export function startEngineProcess(options: EngineProcessOptions): EngineClient & { readonly pid: number | undefined } {
    return new EngineProcess(options);
}
