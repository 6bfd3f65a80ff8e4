// One model for every window: the first window's load decides it; a later window asking for the
// same model shares it (waiting for a load in progress instead of starting a second one); a window
// asking for another model while other windows use this one is refused with MODEL_CONFLICT and a
// message saying why, so it can take the shared model or ask for an engine of its own.
import path from "node:path";
import { EngineError } from "../rpc.ts";
import type { LoadOptions, ModelInfo } from "../protocol.ts";

export const modelConflictCode = "MODEL_CONFLICT";

interface Current {
    options: LoadOptions;
    loading: Promise<ModelInfo>;
    /** The windows that asked for this model (and so would lose it to a switch). */
    holders: Set<string>;
}

export class ModelBroker {
    private current?: Current;

    constructor(private readonly engine: { load(options: LoadOptions): Promise<ModelInfo>; unload(): Promise<void> }) {}

    async load(window: string, options: LoadOptions, liveWindows: ReadonlySet<string>): Promise<ModelInfo> {
        const current = this.current;
        if (current && current.options.modelPath === options.modelPath) {
            current.holders.add(window);
            return current.loading;
        }
        const others = current ? [...current.holders].filter((holder) => holder !== window && liveWindows.has(holder)) : [];
        if (current && others.length > 0) {
            const name = path.basename(current.options.modelPath);
            throw new EngineError(
                `The engine is shared with ${others.length} other window${others.length === 1 ? "" : "s"} using ${name} (${current.options.modelPath}); ` +
                `loading ${path.basename(options.modelPath)} here would take it from them. This window can use ${name} too, or start an engine of its own ` +
                "(a second model in memory).",
                modelConflictCode,
            );
        }
        const loading = this.engine.load(options);
        const next: Current = { options, loading, holders: new Set([window]) };
        this.current = next;
        // A failed load leaves no model to share: the next request loads afresh.
        loading.catch(() => { if (this.current === next) this.current = undefined; });
        return loading;
    }

    /** Unloads only when no other live window uses the model. */
    async unload(window: string, liveWindows: ReadonlySet<string>): Promise<void> {
        const current = this.current;
        current?.holders.delete(window);
        if (current && [...current.holders].some((holder) => liveWindows.has(holder))) return;
        this.current = undefined;
        await this.engine.unload();
    }

    /** The window is gone: it holds nothing any more. */
    forget(window: string): void {
        this.current?.holders.delete(window);
    }
}
