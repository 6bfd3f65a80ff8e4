// The rpc handlers one window's connection gets: the engine's methods, with completions and
// generates going through the fair scheduler, loads through the model broker, and speculation
// settings kept per window (applied before each of its requests, so windows with different
// settings do not overwrite each other's).
import type { Engine } from "../engine.ts";
import { defaultSpeculationSettings, type SpeculationSettings } from "../protocol.ts";
import { EngineError, type Handlers } from "../rpc.ts";
import type { ModelBroker } from "./modelBroker.ts";
import type { FairScheduler } from "./scheduler.ts";

export type ServedEngine = Pick<Engine, "load" | "unload" | "complete" | "generate" | "releaseSlot" | "configure" | "getStatus" | "download" | "on" | "dispose" | "reclaimIdleMemory">;

export interface WindowContext {
    window: string;
    engine: ServedEngine;
    scheduler: FairScheduler;
    broker: ModelBroker;
    liveWindows(): ReadonlySet<string>;
}

export function createWindowHandlers({ window, engine, scheduler, broker, liveWindows }: WindowContext): Handlers {
    let settings: SpeculationSettings = { ...defaultSpeculationSettings };
    return {
        load: async (params) => broker.load(window, requireObject(params, "load", ["modelPath"]), liveWindows()),
        unload: async () => broker.unload(window, liveWindows()),
        complete: async (params, { signal }) => {
            requireObject(params, "complete", ["prefix", "suffix"]);
            return scheduler.run(window, "complete", signal, (turnSignal) => {
                engine.configure(settings);
                return engine.complete(params, turnSignal, window);
            });
        },
        generate: async (params, { signal, progress }) => {
            requireObject(params, "generate", ["prompt"]);
            return scheduler.run(window, "generate", signal, (turnSignal, yieldTurn) => {
                engine.configure(settings);
                return engine.generate(params, turnSignal, (text) => progress({ text }), yieldTurn, window);
            });
        },
        configure: async (params) => {
            settings = { ...settings, ...(params ?? {}) };
            return settings;
        },
        status: async () => engine.getStatus(),
        download: async (params, { signal, progress }) => engine.download(requireObject(params, "download", ["uri", "directory"]), signal, progress),
    };
}

/** Params that are an object with the named string fields; anything else is a clear error. */
function requireObject<T>(params: T, method: string, strings: string[]): T {
    const record = params as Record<string, unknown> | null;
    if (typeof record !== "object" || record === null) throw new EngineError(`${method} needs an object of parameters`, "BAD_PARAMS");
    for (const field of strings)
        if (typeof record[field] !== "string") throw new EngineError(`${method} needs a string "${field}"`, "BAD_PARAMS");
    return params;
}
