// Maps RPC methods onto an Engine. Shared by the engine process and in-process tests, so both
// exercise the same request handling.
import type { Engine } from "./engine.ts";
import type { Handlers } from "./rpc.ts";

export function createEngineHandlers(engine: Engine): Handlers {
    return {
        load: (params) => engine.load(params),
        unload: () => engine.unload(),
        complete: (params, { signal }) => engine.complete(params, signal),
        generate: (params, { signal, progress }) => engine.generate(params, signal, (text) => progress({ text })),
        configure: async (params) => engine.configure(params),
        status: async () => engine.getStatus(),
        download: (params, { signal, progress }) => engine.download(params, signal, progress),
    };
}
