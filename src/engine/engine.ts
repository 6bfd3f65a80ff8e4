// The engine: one model, one context, long-lived sequences (so consecutive completions reuse the
// KV cache; a shared engine keeps one per window, see sequencePool.ts), requests served one at a
// time. It runs in its own process behind the RPC in main.ts, and in-process for tests, the CLI
// and benchmarks.
import { EventEmitter } from "node:events";
import { availableParallelism } from "node:os";
import { GgufInsights, LlamaLogLevel, getLlama, type Llama, type LlamaContext, type LlamaContextSequence, type LlamaModel, type Token } from "node-llama-cpp";
import { decodingContextOptions, prefill, type DecodeOutcome } from "./decoding.ts";
import { inspectModelFile } from "./modelFile.ts";
import { downloadModel } from "./download.ts";
import { buildPrompt, fimTokensOf, type Prompt } from "./promptLayout.ts";
import { applyStopRules, type StopContext, type StopRule } from "../text/stopRules.ts";
import { EngineError, cancelledCode } from "./rpc.ts";
import { Mutex } from "./mutex.ts";
import { SequencePool } from "./sequencePool.ts";
import { TokenText, piecesOf, type PieceOf } from "./tokenText.ts";
import { trailingBlanks, withoutTypedBlanks } from "./trailingBlanks.ts";
import { ClaspBuildMissingError, loadClaspLlama, supportsLayerSkip, trimNativeHeap, type ClaspNative } from "./native/index.ts";
import { createClaspDecoderFactory, nativeIfAvailable } from "./clasp/decoderFactory.ts";
import { skipCountFor } from "./clasp/controller.ts";
import { ThreadPlanner } from "./threadPlanner.ts";
import { applyThreadPlan, roomForMeasurement, type ThreadPlan } from "./threadPlan.ts";
import { speculationOffReason } from "./speculationGuard.ts";
import { fullGc } from "./fullGc.ts";
import {
    defaultSpeculationSettings,
    type CompletionRequest, type CompletionResult, type DownloadProgress, type DownloadRequest, type EngineEvents,
    type EngineStatus, type GenerateRequest, type LoadOptions, type ModelInfo, type SpeculationSettings, type StopReason,
} from "./protocol.ts";

interface Loaded {
    llama: Llama;
    model: LlamaModel;
    context: LlamaContext;
    sequences: SequencePool<LlamaContextSequence>;
    /** The slot each sequence served last: a sequence that changes hands starts its stats again. */
    sequenceOwners: Map<LlamaContextSequence, string>;
    info: ModelInfo;
    pieceOf: PieceOf;
    /** Measures and holds the thread counts per phase; absent where they are fixed (see `threadPlannerFor`). */
    threads?: ThreadPlanner;
}

const defaults = { maxTokens: 128, maxLines: 16, answerReserve: 256 };

/** Whose KV-cache sequence a request uses when the caller names none (a single-user engine). */
export const defaultSlot = "default";

export interface EngineOptions {
    /**
     * KV-cache sequences, one per caller (`slot`) that completes often: each is a full context's
     * worth of KV memory. A shared engine keeps one per window; one caller needs one.
     */
    slots?: number;
    /**
     * The thread counts a CPU engine's plan chooses among when `LoadOptions.threads` is 0; default
     * 1..`defaultThreads()`. Fewer than two: no plan, every phase at the context's count.
     */
    threadCounts?: number[];
    /** Idle time after a request before the next thread count is measured; default 1 s. */
    threadPlanIdleMs?: number;
}

export class Engine {
    private loaded?: Loaded;
    private status: EngineStatus = { state: "stopped" };
    private settings: SpeculationSettings = { ...defaultSpeculationSettings };
    private readonly lock = new Mutex();
    private readonly events = new EventEmitter();
    private readonly slots: number;
    private readonly threadCounts: number[];
    private readonly threadPlanIdleMs: number;
    /** Idle work (the thread measurement): its timer, and how a new call stops it. */
    private idle?: { timer?: NodeJS.Timeout; abort: AbortController };

    constructor(options: EngineOptions = {}) {
        this.slots = Math.max(1, Math.floor(options.slots ?? 1));
        this.threadCounts = options.threadCounts ?? Array.from({ length: defaultThreads() }, (_, i) => i + 1);
        this.threadPlanIdleMs = options.threadPlanIdleMs ?? 1000;
    }

    /** One speculative decoder per sequence, so per slot: its rolling stats are that slot's caller's. */
    private readonly decoderFor = createClaspDecoderFactory();

    /**
     * `stats` listeners also get the slot whose request the stats follow (a shared engine sends
     * them to that window only: each window's status bar shows its own acceptance and speedup).
     */
    on<E extends keyof EngineEvents>(event: E, listener: (payload: EngineEvents[E], slot?: string) => void): () => void {
        this.events.on(event, listener);
        return () => this.events.off(event, listener);
    }

    getStatus(): EngineStatus {
        return this.status;
    }

    /** The thread counts per phase, once measured on the loaded model (see `scheduleThreadPlan`). */
    getThreadPlan(): ThreadPlan | undefined {
        return this.loaded?.threads?.plan;
    }

    async load(options: LoadOptions): Promise<ModelInfo> {
        this.stopIdleWork();
        return this.lock.run(async () => {
            await this.disposeLoaded();
            this.setStatus({ state: "loading" });
            try {
                this.loaded = await loadModel(options, this.slots, this.threadCounts, (message) => this.log("warn", message));
                this.setStatus({ state: "ready", model: this.loaded.info });
                this.log("info", `Loaded ${this.loaded.info.name} (${this.loaded.info.architecture}, ${this.loaded.info.layers} layers, ${this.loaded.info.backend}, FIM ${this.loaded.info.hasFim ? "yes" : "no"})`);
                if (this.loaded.info.speculationOff) this.log("info", this.loaded.info.speculationOff);
                return this.loaded.info;
            } catch (error) {
                const message = error instanceof Error ? error.message : String(error);
                this.setStatus({ state: "error", error: message });
                throw error;
            }
        });
    }

    async unload(): Promise<void> {
        this.stopIdleWork();
        await this.lock.run(() => this.disposeLoaded());
        this.setStatus({ state: "stopped" });
    }

    configure(update: Partial<SpeculationSettings>): SpeculationSettings {
        this.settings = { ...this.settings, ...update };
        return this.settings;
    }

    /** `slot` names the caller whose KV-cache sequence the request reuses (a window of a shared engine). */
    complete(request: CompletionRequest, signal?: AbortSignal, slot = defaultSlot): Promise<CompletionResult> {
        this.stopIdleWork();
        return this.lock.run(async () => {
            const loaded = this.requireLoaded();
            const maxTokens = request.maxTokens ?? defaults.maxTokens;
            const buildStarted = performance.now();
            // The model continues the prefix without the blanks the cursor line ends in (trailingBlanks.ts).
            const blanks = trailingBlanks(request.prefix);
            const healed = { ...request, prefix: request.prefix.slice(0, request.prefix.length - blanks.length) };
            const prompt = buildPrompt(loaded.model, healed, {
                maxTokens: promptBudget(loaded.info.contextSize, maxTokens),
            });
            const promptBuildMs = performance.now() - buildStarted;
            const result = await this.run(loaded, slot, prompt, {
                maxTokens,
                temperature: request.temperature ?? 0,
                seed: request.seed,
                timeoutMs: request.timeoutMs,
                mode: request.mode,
                stop: stopContextOf(healed),
                prefillOnly: request.prefillOnly,
            }, signal);
            result.timings.promptBuildMs = promptBuildMs;
            return { ...result, text: withoutTypedBlanks(result.text, blanks) };
        });
    }

    /**
     * `yieldTurn` is how a shared engine (src/engine/service/scheduler.ts) keeps a long generation
     * from delaying other windows' completions: it is asked after every decode round, and when it
     * returns a promise the decode stops there, the engine is free until the promise resolves, and
     * generation then continues after the tokens so far, in the slot's own sequence, so nothing is
     * re-evaluated unless more windows than sequences completed meanwhile.
     */
    async generate(
        request: GenerateRequest,
        signal?: AbortSignal,
        onText?: (text: string) => void,
        yieldTurn?: () => Promise<void> | undefined,
        slot = defaultSlot,
    ): Promise<CompletionResult> {
        const maxTokens = request.maxTokens ?? 512;
        const output: Token[] = [];
        for (;;) {
            let paused: Promise<void> | undefined;
            this.stopIdleWork();
            const result = await this.lock.run(async () => {
                const loaded = this.requireLoaded();
                // Plain continuation even on FIM models: the instruction is a prefix, not a hole.
                const prompt = buildPrompt(loaded.model, { prefix: request.prompt, suffix: "" }, {
                    maxTokens: promptBudget(loaded.info.contextSize, maxTokens),
                    fim: false,
                });
                return this.run(loaded, slot, prompt, {
                    maxTokens,
                    temperature: request.temperature ?? 0,
                    seed: request.seed,
                    mode: request.mode,
                    onText,
                    output,
                    yieldWhen: yieldTurn && (() => (paused = yieldTurn()) !== undefined),
                }, signal);
            });
            if (!paused) return result;
            await paused;
        }
    }

    /** The slot's caller is gone (a window closed): its sequence goes to the next new caller. */
    releaseSlot(slot: string): void {
        this.loaded?.sequences.release(slot);
    }

    download(request: DownloadRequest, signal?: AbortSignal, onProgress?: (progress: DownloadProgress) => void) {
        return downloadModel(request, { signal, onProgress });
    }

    /** Gives back memory a busy spell left behind: a full V8 GC, then the native heap's free pages. */
    reclaimIdleMemory(): void {
        fullGc();
        if (this.loaded) trimNativeHeap(this.loaded.llama);
    }

    async dispose(): Promise<void> {
        await this.unload();
        this.events.removeAllListeners();
    }

    private async run(
        loaded: Loaded,
        slot: string,
        { tokens: promptTokens, lookupSource, usedFim }: Prompt,
        options: {
            maxTokens: number; temperature: number; seed?: number; timeoutMs?: number; mode?: SpeculationSettings["mode"];
            /** The editor's stop rules, to stop generating where the editor would cut the text anyway. */
            stop?: StopContext;
            onText?: (text: string) => void;
            /** Output of earlier turns of the same generation, continued after and extended in place. */
            output?: Token[];
            /** Asked after each round: true ends this turn there (the caller resumes it later). */
            yieldWhen?: () => boolean;
            /** Evaluate the prompt and stop: no decode, no speculation stats. */
            prefillOnly?: boolean;
        },
        signal?: AbortSignal,
    ): Promise<CompletionResult> {
        const started = performance.now();
        if (signal?.aborted) throw cancelled();
        const sequence = loaded.sequences.take(slot);
        const generated: Token[] = options.output ?? [];
        const resumedTokens = generated.length;
        const tokens = resumedTokens > 0 ? [...promptTokens, ...generated] : promptTokens;
        const reusedTokens = await prefill(sequence, tokens, signal);
        const promptMs = performance.now() - started;
        if (options.prefillOnly) {
            const timings = { promptTokens: tokens.length, reusedTokens, promptMs, firstTokenMs: 0, totalMs: promptMs, tokensPerSecond: 0 };
            return { text: "", generatedTokens: 0, stopReason: "prefilled", usedFim, timings };
        }

        const text = new TokenText(loaded.pieceOf);
        text.push(generated);
        let stopReason: StopReason | undefined;
        let firstTokenMs = 0;
        let judgedUpTo = -1;
        const deadline = options.timeoutMs ? started + options.timeoutMs : Infinity;
        const mode = effectiveMode(options.mode ?? this.settings.mode, loaded.info);
        const settings = { ...this.settings, mode };
        const decoder = this.decoderFor({ context: loaded.context, sequence, threadPlan: loaded.threads?.plan }, settings);
        if (loaded.sequenceOwners.get(sequence) !== slot) {
            decoder.rolling.startNewCaller();
            loaded.sequenceOwners.set(sequence, slot);
        }

        const outcome: DecodeOutcome = await decoder.decode({
            sequence,
            pending: tokens[tokens.length - 1]!,
            maxTokens: options.maxTokens - resumedTokens,
            temperature: options.temperature,
            seed: options.seed,
            signal,
            lookupSource,
            onTokens: (tokens) => {
                if (generated.length === 0) firstTokenMs = performance.now() - started;
                generated.push(...tokens);
                const added = text.push(tokens);
                if (options.onText && added) options.onText(added);
                // Rules judge complete lines, so they only need a look when a line was finished.
                const lastNewline = added.includes("\n") ? text.text.lastIndexOf("\n") : judgedUpTo;
                if (options.stop && lastNewline > judgedUpTo) {
                    judgedUpTo = lastNewline;
                    stopReason = endingRule(text.text.slice(0, lastNewline + 1), options.stop);
                    if (stopReason) return false;
                }
                if (performance.now() > deadline) {
                    stopReason = "timeout";
                    return false;
                }
                if (generated.length < options.maxTokens && options.yieldWhen?.()) return false;
                return !signal?.aborted;
            },
        });
        this.events.emit("stats", decoder.stats(), slot);
        this.scheduleThreadPlan(loaded, sequence, decoder.native);
        if (outcome.end === "abort" || signal?.aborted) throw cancelled();

        const totalMs = performance.now() - started;
        const decodeMs = Math.max(1e-3, totalMs - promptMs);
        return {
            text: text.text,
            generatedTokens: generated.length,
            stopReason: stopReason ?? (outcome.end === "maxTokens" ? "maxTokens" : "eog"),
            usedFim,
            timings: {
                promptTokens: tokens.length,
                reusedTokens,
                promptMs,
                firstTokenMs,
                totalMs,
                tokensPerSecond: ((generated.length - resumedTokens) / decodeMs) * 1000,
            },
            speculation: outcome.speculation,
        };
    }

    /**
     * After a request, in idle time: the next thread count of the plan, measured on the sequence that
     * request used (it holds a real prompt). Any new call stops it (`stopIdleWork`).
     */
    private scheduleThreadPlan(loaded: Loaded, sequence: LlamaContextSequence, native: ClaspNative | undefined): void {
        const planner = loaded.threads;
        if (!planner || planner.plan) return;
        this.stopIdleWork();
        const idle: NonNullable<Engine["idle"]> = { abort: new AbortController() };
        this.idle = idle;
        idle.timer = setTimeout(() => {
            idle.timer = undefined;
            void this.lock.run(async () => {
                if (idle.abort.signal.aborted || this.loaded !== loaded || roomForMeasurement(sequence) !== undefined) return;
                const layerSkip = native && { native, skipCount: skipCountFor(native.info.nLayer, this.settings.skipRatio) };
                const plan = await planner.measureNext(loaded.context, sequence, layerSkip, idle.abort.signal);
                if (!plan) {
                    this.scheduleThreadPlan(loaded, sequence, native);
                    return;
                }
                applyThreadPlan(loaded.context, plan);
                const { plain, draft, verify, dp } = plan.threads;
                this.log("info", `Threads per phase, measured on this model among ${planner.counts.join(", ")}: plain ${plain}, draft ${draft}, verify ${verify}, DP ${dp}`);
            }).catch((error: unknown) => {
                if (error instanceof Error && error.name === "AbortError") return; // measured again after the next request
                // a measurement that fails once would fail again: the phases keep the context's count
                if (loaded.threads === planner) loaded.threads = undefined;
                this.log("warn", `Threads per phase not measured: ${error instanceof Error ? error.message : String(error)}`);
            });
        }, this.threadPlanIdleMs);
        idle.timer.unref?.();
    }

    /** A new call stops idle work: a pending measurement never starts, a running one ends within one decode. */
    private stopIdleWork(): void {
        if (!this.idle) return;
        if (this.idle.timer) clearTimeout(this.idle.timer);
        this.idle.abort.abort();
        this.idle = undefined;
    }

    private requireLoaded(): Loaded {
        if (!this.loaded) throw new EngineError("No model is loaded", "NO_MODEL");
        return this.loaded;
    }

    private async disposeLoaded(): Promise<void> {
        const loaded = this.loaded;
        this.loaded = undefined;
        if (!loaded) return;
        await loaded.context.dispose();
        await loaded.model.dispose();
    }

    private setStatus(status: EngineStatus): void {
        this.status = status;
        this.events.emit("status", status);
    }

    private log(level: EngineEvents["log"]["level"], message: string): void {
        this.events.emit("log", { level, message });
    }
}

/**
 * The CLaSp-patched build when it exists (layer-skip drafts need it). Without it the engine
 * still runs plain and lookup decoding on node-llama-cpp's stock binary, and says so loudly:
 * it never passes the stock binary off as the patched one.
 */
async function loadLlama(options: LoadOptions, warn: (message: string) => void): Promise<{ llama: Llama; patched: boolean; backendFallback?: string }> {
    const gpu = options.gpu ?? "auto";
    if (gpu === "auto" || gpu === "cpu") return loadLlamaFor(gpu, options, warn);
    try {
        return await loadLlamaFor(gpu, options, warn);
    } catch (error) {
        // An explicit GPU with no binary for it here (a CPU-only install, a missing driver): the CPU
        // still completes, and the user learns why it is slower and how to get the GPU build.
        const backendFallback = `clasp.gpu is "${gpu}", but no ${gpu} binary runs here (${error instanceof Error ? error.message : String(error)}); ` +
            `running on the CPU. "CLaSp: Build Accelerated Backend" builds llama.cpp for your GPU.`;
        warn(backendFallback);
        return { ...await loadLlamaFor("cpu", options, warn), backendFallback };
    }
}

async function loadLlamaFor(gpu: NonNullable<LoadOptions["gpu"]>, options: LoadOptions, warn: (message: string) => void): Promise<{ llama: Llama; patched: boolean }> {
    const logger = (level: LlamaLogLevel, message: string) => {
        if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) warn(message.trim());
    };
    try {
        const llama = await loadClaspLlama({ gpu });
        llama.logger = logger;
        return { llama, patched: true };
    } catch (error) {
        if (!(error instanceof ClaspBuildMissingError) || options.requireClaspBuild) throw error;
        warn(`${error.message}. Layer-skip speculation (clasp, hybrid) is off; plain and lookup decoding still work.`);
    }
    // build "never": an installed extension only runs binaries it shipped; it never compiles or downloads llama.cpp
    const llama = await getLlama({ gpu: gpu === "cpu" ? false : gpu, build: "never", logger });
    return { llama, patched: false };
}

/**
 * Half the cores, at most 4: ggml's spin barriers collapse when threads outnumber free cores
 * (measured here: 2 threads on a busy 2-core machine ran 2000x slower than 1), and an editor
 * always has other work running. Also the most threads the per-phase plan tries: a count measured
 * fast on an idle machine is not one to run on a busy one.
 */
function defaultThreads(): number {
    return Math.max(1, Math.min(4, Math.floor(availableParallelism() / 2)));
}

/**
 * The stop-rule context of a completion request, as the editor builds it from the document. A
 * model without FIM never sees the suffix, but the suffix still says where its text must stop
 * (the lines that follow, the rest of the cursor line), exactly as in the editor.
 */
export function stopContextOf(request: CompletionRequest): StopContext {
    const suffixLines = request.suffix.split("\n");
    return {
        linePrefix: request.prefix.slice(request.prefix.lastIndexOf("\n") + 1),
        lineSuffix: suffixLines[0]!,
        nextLines: suffixLines.slice(1, 1 + defaults.maxLines),
        maxLines: request.maxLines ?? defaults.maxLines,
        singleLine: request.singleLine ?? false,
    };
}

/** Rules that mark the end of what the editor will show; any later token would be cut anyway. */
const endingRules = new Set<StopRule>(["singleLine", "maxLines", "dedent", "unmatchedBracket", "repeatsNextLines"]);

/**
 * The rule that ends the completion, judged on complete lines only (a half-written line can
 * look like a dedent or a repeat of the next line before it is finished).
 */
function endingRule(completeLines: string, context: StopContext): StopRule | undefined {
    return applyStopRules(completeLines, context).applied.find((rule) => endingRules.has(rule));
}

/**
 * Prompt tokens allowed: the context minus room for the answer, but never less than half the
 * context (a longer answer continues through node-llama-cpp's context shift).
 */
function promptBudget(contextSize: number, maxTokens: number): number {
    const answerRoom = Math.min(Math.max(defaults.answerReserve, maxTokens + 16), Math.floor(contextSize / 2));
    return contextSize - answerRoom;
}

function cancelled(): EngineError {
    return new EngineError("Request cancelled", cancelledCode, "AbortError");
}

async function loadModel(options: LoadOptions, slots: number, threadCounts: number[], warn: (message: string) => void): Promise<Loaded> {
    const file = await inspectModelFile(options.modelPath);
    const { llama, patched, backendFallback } = await loadLlama(options, warn);
    const insights = await GgufInsights.from(file.gguf, llama);
    if (!insights.isSupportedByLlamaCpp)
        throw new EngineError(`Unsupported model architecture "${file.architecture}" in ${options.modelPath}`, "MODEL_UNSUPPORTED");
    let model: LlamaModel;
    try {
        model = await llama.loadModel({ modelPath: options.modelPath });
    } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        const unsupported = /unknown model architecture|unsupported/i.test(reason);
        throw new EngineError(
            unsupported
                ? `Unsupported model architecture "${file.architecture}" in ${options.modelPath}`
                : `Could not load model ${options.modelPath}: ${reason}`,
            unsupported ? "MODEL_UNSUPPORTED" : "MODEL_LOAD_FAILED",
        );
    }
    const contextSize = Math.min(options.contextSize ?? 4096, model.trainContextSize);
    const context = await model.createContext({ ...decodingContextOptions, contextSize, sequences: slots, threads: options.threads || defaultThreads() });
    const all = Array.from({ length: slots }, () => context.getSequence());
    const info: ModelInfo = {
        path: options.modelPath,
        name: file.name || options.modelPath.split(/[\\/]/).pop() || options.modelPath,
        architecture: file.architecture,
        layers: Number((model.fileInfo.architectureMetadata as { block_count?: number }).block_count ?? 0),
        embeddingSize: model.embeddingVectorSize,
        vocabularySize: model.fileInfo.metadata.tokenizer?.ggml?.tokens?.length ?? 0,
        contextSize: context.contextSize,
        hasFim: fimTokensOf(model) !== undefined,
        supportsLayerSkip: patched && supportsLayerSkip(model),
        patchedBuild: patched,
        speculationOff: speculationOffReason(model),
        backend: llama.gpu === false ? "cpu" : llama.gpu,
        ...(backendFallback ? { backendFallback } : {}),
    };
    if (patched && !info.supportsLayerSkip)
        info.layerSkipOff = `layer skip is unavailable on this model (${nativeIfAvailable(context, all[0]!).reason}); clasp and hybrid draft by prompt lookup instead`;
    return {
        llama, model, context, sequences: new SequencePool(all), sequenceOwners: new Map(), info, pieceOf: piecesOf(model),
        threads: threadPlannerFor(options, info, threadCounts),
    };
}

/**
 * Thread counts are measured per phase only where they matter and are ours to choose: on the CPU,
 * with the patched build (its raw decodes do the timing), when the user set no count
 * (`clasp.threads` 0), among two or more candidate counts.
 */
function threadPlannerFor(options: LoadOptions, info: ModelInfo, threadCounts: number[]): ThreadPlanner | undefined {
    if (options.threads || info.backend !== "cpu" || !info.patchedBuild || threadCounts.length < 2) return undefined;
    return new ThreadPlanner(threadCounts);
}

/** The mode a request runs in on this model: what it asked for, less what the model cannot do. */
function effectiveMode(mode: SpeculationSettings["mode"], info: ModelInfo): SpeculationSettings["mode"] {
    if (info.speculationOff) return "off";
    if (info.layerSkipOff && (mode === "clasp" || mode === "hybrid")) return "lookup";
    return mode;
}
