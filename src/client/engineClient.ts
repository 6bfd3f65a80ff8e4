// What the extension sees of the engine: typed requests with cancellation and progress, and
// events. The shared engine service client (sharedEngine.ts) implements it; tests may pass any object
// with this shape.
import type { EngineEvents, EngineMethods, EngineState, ProgressPayload } from "../engine/protocol.ts";

export interface RequestOptions {
    /** Aborting sends a cancel to the engine, which stops the work (not just the reply). */
    signal?: AbortSignal;
    onProgress?(progress: ProgressPayload): void;
}

export interface EngineClient {
    readonly state: EngineState;
    request<M extends keyof EngineMethods>(
        method: M,
        params: EngineMethods[M]["params"],
        options?: RequestOptions,
    ): Promise<EngineMethods[M]["result"]>;
    /** Returns a function that removes the listener. */
    on<E extends keyof EngineEvents>(event: E, listener: (payload: EngineEvents[E]) => void): () => void;
    restart(): Promise<void>;
    dispose(): void;
}
