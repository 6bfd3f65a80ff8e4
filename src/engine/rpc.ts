// A small typed RPC over any message channel (Node's IPC between the extension and the engine
// process, or a pair of in-memory ports in tests). Requests carry an id; the answering side may
// stream progress for that id and the asking side may cancel it. Events flow engine -> client.
import type { EngineEvents, EngineMethods, ProgressPayload } from "./protocol.ts";

export type Message =
    | { kind: "request"; id: number; method: keyof EngineMethods; params: unknown }
    | { kind: "cancel"; id: number }
    | { kind: "progress"; id: number; payload: ProgressPayload }
    | { kind: "response"; id: number; result: unknown }
    | { kind: "error"; id: number; error: SerializedError }
    | { kind: "event"; event: keyof EngineEvents; payload: unknown };

export interface SerializedError {
    name: string;
    message: string;
    /** Machine-readable code so callers can tell "cancelled" from "bad model" without parsing text. */
    code?: string;
}

export interface Channel {
    send(message: Message): void;
    onMessage(listener: (message: Message) => void): () => void;
}

/** An error that crossed the process boundary, or a local one with a code. */
export class EngineError extends Error {
    constructor(message: string, readonly code: string = "ENGINE_ERROR", name = "EngineError") {
        super(message);
        this.name = name;
    }
}

export const cancelledCode = "CANCELLED";

export function serializeError(error: unknown): SerializedError {
    if (error instanceof Error) {
        const code = (error as { code?: unknown }).code;
        return { name: error.name, message: error.message, code: typeof code === "string" ? code : undefined };
    }
    return { name: "Error", message: String(error) };
}

export function deserializeError(error: SerializedError): EngineError {
    return new EngineError(error.message, error.code ?? "ENGINE_ERROR", error.name);
}

export type Handler<M extends keyof EngineMethods> = (
    params: EngineMethods[M]["params"],
    context: { signal: AbortSignal; progress(payload: ProgressPayload): void },
) => Promise<EngineMethods[M]["result"]>;

export type Handlers = { [M in keyof EngineMethods]: Handler<M> };

/** Serves requests arriving on `channel` with `handlers`; returns a function that stops serving. */
export function serve(channel: Channel, handlers: Handlers): { emit<E extends keyof EngineEvents>(event: E, payload: EngineEvents[E]): void; close(): void } {
    const inFlight = new Map<number, AbortController>();
    const stop = channel.onMessage((message) => {
        if (message.kind === "cancel") {
            inFlight.get(message.id)?.abort();
            return;
        }
        if (message.kind !== "request") return;
        const { id, method, params } = message;
        const handler = handlers[method] as Handler<typeof method> | undefined;
        if (!handler) {
            channel.send({ kind: "error", id, error: { name: "EngineError", message: `Unknown method "${method}"`, code: "UNKNOWN_METHOD" } });
            return;
        }
        const controller = new AbortController();
        inFlight.set(id, controller);
        const progress = (payload: ProgressPayload) => channel.send({ kind: "progress", id, payload });
        handler(params as never, { signal: controller.signal, progress })
            .then((result) => channel.send({ kind: "response", id, result }))
            .catch((error: unknown) => channel.send({ kind: "error", id, error: serializeError(error) }))
            .finally(() => inFlight.delete(id));
    });
    return {
        emit: (event, payload) => channel.send({ kind: "event", event, payload }),
        close() {
            stop();
            for (const controller of inFlight.values()) controller.abort();
        },
    };
}

interface Pending {
    resolve(result: unknown): void;
    reject(error: Error): void;
    onProgress?(payload: ProgressPayload): void;
}

/** The asking side: typed requests with cancellation and progress, plus event listeners. */
export class RpcClient {
    private nextId = 1;
    private readonly pending = new Map<number, Pending>();
    private readonly listeners = new Map<string, Set<(payload: unknown) => void>>();
    private readonly detach: () => void;

    constructor(private readonly channel: Channel) {
        this.detach = channel.onMessage((message) => this.receive(message));
    }

    request<M extends keyof EngineMethods>(
        method: M,
        params: EngineMethods[M]["params"],
        options: { signal?: AbortSignal; onProgress?(payload: ProgressPayload): void } = {},
    ): Promise<EngineMethods[M]["result"]> {
        const { signal, onProgress } = options;
        if (signal?.aborted) return Promise.reject(new EngineError("Request cancelled", cancelledCode, "AbortError"));
        const id = this.nextId++;
        return new Promise((resolve, reject) => {
            const onAbort = () => this.channel.send({ kind: "cancel", id });
            signal?.addEventListener("abort", onAbort, { once: true });
            const settle = () => signal?.removeEventListener("abort", onAbort);
            this.pending.set(id, {
                resolve: (result) => { settle(); resolve(result as EngineMethods[M]["result"]); },
                reject: (error) => { settle(); reject(error); },
                onProgress,
            });
            this.channel.send({ kind: "request", id, method, params });
        });
    }

    on<E extends keyof EngineEvents>(event: E, listener: (payload: EngineEvents[E]) => void): () => void {
        let set = this.listeners.get(event);
        if (!set) this.listeners.set(event, (set = new Set()));
        const untyped = listener as (payload: unknown) => void;
        set.add(untyped);
        return () => set.delete(untyped);
    }

    /** Fails every request still waiting, e.g. because the engine process died. */
    failAll(error: Error): void {
        const waiting = [...this.pending.values()];
        this.pending.clear();
        for (const entry of waiting) entry.reject(error);
    }

    dispose(): void {
        this.detach();
        this.failAll(new EngineError("Engine client disposed", "DISPOSED"));
    }

    private receive(message: Message): void {
        switch (message.kind) {
            case "event":
                for (const listener of this.listeners.get(message.event) ?? []) listener(message.payload);
                return;
            case "progress":
                this.pending.get(message.id)?.onProgress?.(message.payload);
                return;
            case "response":
            case "error": {
                const entry = this.pending.get(message.id);
                if (!entry) return;
                this.pending.delete(message.id);
                if (message.kind === "response") entry.resolve(message.result);
                else entry.reject(deserializeError(message.error));
                return;
            }
        }
    }
}

/** Two connected in-memory channels, for running the engine in-process behind the same RPC. */
export function channelPair(): [Channel, Channel] {
    const left = new Set<(message: Message) => void>();
    const right = new Set<(message: Message) => void>();
    const end = (own: typeof left, peer: typeof left): Channel => ({
        send(message) {
            // Clone like IPC does, and deliver asynchronously like IPC does.
            const copy = structuredClone(message);
            queueMicrotask(() => { for (const listener of peer) listener(copy); });
        },
        onMessage(listener) {
            own.add(listener);
            return () => own.delete(listener);
        },
    });
    return [end(left, right), end(right, left)];
}
