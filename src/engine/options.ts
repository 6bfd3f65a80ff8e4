// How the engine process is configured: which decoders it may use. The speculative decoders
// plug in here once present; plain decoding needs nothing.
import type { EngineOptions } from "./engine.ts";

export async function engineOptions(): Promise<EngineOptions> {
    return {};
}
