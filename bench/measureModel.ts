// One model through every decoding mode on the same prompts, same sequence, same run: plain
// greedy first (the baseline and the reference output), then each speculative mode, prompt by
// prompt so that machine drift hits every mode alike.
import type { Llama, LlamaContextSequence, LlamaModel } from "node-llama-cpp";
import { decodingContextOptions, type Decoder } from "../src/engine/decoding.ts";
import { buildPrompt, type Prompt } from "../src/engine/promptLayout.ts";
import { defaultSpeculationSettings, type SpeculationMode, type SpeculationSettings } from "../src/engine/protocol.ts";
import { createSpeculativeDecoder, type SpeculativeDecoder } from "../src/engine/clasp/speculativeDecoder.ts";
import { ngramModCopyDrafter } from "../src/engine/clasp/ngramMod.ts";
import type { ClaspNative } from "../src/engine/native/index.ts";
import type { HeldOutPrompt } from "./heldOutPrompts.ts";
import { skipRatioSweeper, type SkipRatioSweep } from "./skipRatioSweep.ts";
import { idealBound, timedDecode } from "./timedDecode.ts";
import { timedPlainRun, type PlainRun } from "./plainRun.ts";
import { startStockPlain } from "./stockPlain.ts";
import { median } from "../src/engine/median.ts";
import { measureThreadPlan, setContextThreads, type ThreadPlan } from "../src/engine/threadPlan.ts";

/** `ngramMod`: llama.cpp's ngram-mod drafter in the `lookup` mode's place, verified by the same loop (the peer). */
export type BenchMode = "static" | "clasp" | "lookup" | "ngramMod" | "hybrid" | "auto";
/** Every mode, in the order the tables list them. */
export const benchModes: readonly BenchMode[] = ["static", "clasp", "lookup", "ngramMod", "hybrid", "auto"];

export interface ModeResult {
    tokensPerSecond: number;
    speedup: number;
    /** Speedup in process CPU time: steadier than wall time on a shared, loaded machine. */
    cpuSpeedup: number;
    acceptance: number;
    meanAccepted: number;
    dpOverheadPct: number;
    /** E/(γc + V(γ+1)) from this run's α, mean draft length γ, draft cost c and verify cost V; null without drafts. */
    idealBound: number | null;
    lossless: boolean;
}

/** Plain greedy decoding on one binary: `plain` on our patched build, `stockPlain` on node-llama-cpp's prebuilt one. */
export interface PlainResult {
    tokensPerSecond: number;
    /** Median over prompts of generation ms per token. */
    msPerToken: number;
    /** Prompt tokens per second of prefill from an empty cache (all prompts together). */
    prefillTokensPerSecond: number;
    /** Median over prompts of prefill ms per prompt token. */
    prefillMsPerToken: number;
    /** Every baseline but patched plain at the main thread count: every output equals that one's. */
    sameTokensAsPlain?: boolean;
}

export type PlainMode = "plain" | "stockPlain";

export interface ModelResult {
    name: string;
    layers: number;
    modes: { plain: PlainResult; stockPlain?: PlainResult } & Partial<Record<BenchMode, ModeResult>>;
    /** The faster plain decoding by tokens/s: every speedup is against it. */
    bestPlain: PlainMode;
    /**
     * With a thread plan: `plain` and `stockPlain` at the plan's other thread counts too, each on a
     * context (or process) of its own (raw decodes can rank counts differently from node-llama-cpp's
     * path), and the thread count of the best plain decoding, which every speedup is against.
     */
    plainAtThreads?: Record<number, { plain: PlainResult; stockPlain?: PlainResult }>;
    bestPlainThreads?: number;
    /** Modes that could not run here, with the reason. */
    skipped: Partial<Record<BenchMode | "stockPlain" | "threadPlan", string>>;
    /** With `threadPlan`: the per-phase costs measured on this model, and the counts the speculative modes used. */
    threadPlan?: ThreadPlan;
    prompts: number;
    generatedTokens: number;
    /** Only when asked for (real models): `clasp` at each skip ratio. */
    skipRatioSweep?: SkipRatioSweep;
}

export interface MeasureOptions {
    prompts: HeldOutPrompt[];
    maxTokens: number;
    threads: number;
    /** Why the layer-skip modes cannot run (no patched build, unsupported architecture); undefined when they can. */
    nativeUnavailable?: string;
    createNative?(context: import("node-llama-cpp").LlamaContext, sequence: LlamaContextSequence): ClaspNative;
    log(message: string): void;
    /** Also sweep the skip ratio (see skipRatioSweep.ts) on the same prompts. */
    skipRatioSweep?: boolean;
    /** Run the `stockPlain` baseline (default true). */
    stockPlain?: boolean;
    /** Only these speculative modes (default: every one this model can run); plain and stockPlain always run. */
    modes?: readonly BenchMode[];
    /**
     * Measure the thread plan (src/engine/threadPlan.ts) on this model and run the speculative modes
     * with it, each phase at its fastest count; plain decoding runs at every count (see planThreads).
     */
    threadPlan?: boolean;
}

const nativeModes: BenchMode[] = ["static", "clasp", "hybrid"];
const settingsFor = (mode: SpeculationMode): SpeculationSettings => ({ ...defaultSpeculationSettings, mode });

interface Tally {
    tokens: number;
    ms: number;
    cpuMs: number;
    lossless: boolean;
}

const newTally = (): Tally => ({ tokens: 0, ms: 0, cpuMs: 0, lossless: true });

interface PlainTally extends Tally {
    prefillTokens: number;
    prefillMs: number;
    msPerToken: number[];
    prefillMsPerToken: number[];
}

const newPlainTally = (): PlainTally => ({ ...newTally(), prefillTokens: 0, prefillMs: 0, msPerToken: [], prefillMsPerToken: [] });

function addPlainRun(tally: PlainTally, run: PlainRun): void {
    tally.tokens += run.tokens.length;
    tally.ms += run.ms;
    tally.cpuMs += run.cpuMs;
    tally.prefillTokens += run.prefillTokens;
    tally.prefillMs += run.prefillMs;
    if (run.tokens.length > 0) tally.msPerToken.push(run.ms / run.tokens.length);
    if (run.prefillTokens > 0) tally.prefillMsPerToken.push(run.prefillMs / run.prefillTokens);
}

function summarizePlain(tally: PlainTally): PlainResult {
    return {
        tokensPerSecond: (tally.tokens * 1000) / tally.ms,
        msPerToken: median(tally.msPerToken),
        prefillTokensPerSecond: (tally.prefillTokens * 1000) / tally.prefillMs,
        prefillMsPerToken: median(tally.prefillMsPerToken),
    };
}

export async function measureModel(llama: Llama, modelPath: string, name: string, options: MeasureOptions): Promise<ModelResult> {
    const model = await llama.loadModel({ modelPath });
    const contextSize = Math.min(model.trainContextSize, 2048);
    const budget = { maxTokens: Math.max(32, contextSize - options.maxTokens - 16), suffixShare: 0.25 };
    const prompts = options.prompts.map((p) => buildPrompt(model, { prefix: p.prefix, suffix: p.suffix, extraContext: p.extraContext }, budget));
    const planned = options.threadPlan ? await planThreads(model, contextSize, prompts[0]!, options) : undefined;
    const plan = planned && "plan" in planned ? planned.plan : undefined;
    // plain decoding, the baseline, runs one-token steps at the fastest measured count
    const threads = plan?.threads.plain ?? options.threads;
    const context = await model.createContext({ ...decodingContextOptions, contextSize, threads, sequences: 1 });
    // every plain decoding the speedups may be against: patched and stock, at each thread count measured
    const baselines: Baseline[] = [];
    try {
        const sequence = context.getSequence();
        const layers = model.fileInsights.totalLayers - 1;

        let native: ClaspNative | undefined;
        let nativeUnavailable = options.nativeUnavailable;
        if (nativeUnavailable === undefined) {
            try {
                native = options.createNative!(context, sequence);
            } catch (error) {
                nativeUnavailable = (error as Error).message;
            }
        }
        const modes = benchModes.filter((mode) => (native || !nativeModes.includes(mode)) && (options.modes?.includes(mode) ?? true));
        const skipped: ModelResult["skipped"] = {};
        if (!native) for (const mode of nativeModes) if (options.modes?.includes(mode) ?? true) skipped[mode] = nativeUnavailable ?? "no native primitives";
        if (planned && "notMeasured" in planned) skipped.threadPlan = planned.notMeasured;

        // the speculative modes (plain baselines run through `baselines` below): verify batches at the plan's count
        const run = (decoder: Decoder, prompt: Prompt) => {
            if (plan) setContextThreads(context, threads, plan.threads.verify);
            return timedDecode(sequence, decoder, prompt, options.maxTokens);
        };
        const counts = [threads, ...(plan?.costs.map((cost) => cost.threads).filter((count) => count !== threads) ?? [])];
        for (const count of counts) {
            const own = count === threads ? { context, sequence } : await plainContext(model, contextSize, count);
            baselines.push({
                mode: "plain", threads: count, tally: newPlainTally(),
                run(prompt) {
                    if (plan) setContextThreads(own.context, count, count);
                    return timedPlainRun(own.sequence, prompt, options.maxTokens);
                },
                close: () => (own.context === context ? undefined : own.context.dispose()),
            });
            if (!(options.stockPlain ?? true)) continue;
            try {
                const stock = await startStockPlain(modelPath, { contextSize, threads: count });
                baselines.push({ mode: "stockPlain", threads: count, tally: newPlainTally(), run: (prompt) => stock.run(prompt, options.maxTokens), close: () => stock.close() });
            } catch (error) {
                skipped.stockPlain = (error as Error).message;
            }
        }
        for (const baseline of baselines) await baseline.run(prompts[0]!); // warm-up, not counted

        // `static` picks its skip set once, from the first prompt (not counted).
        let staticMask: Uint8Array | undefined;
        if (native && modes.includes("static")) {
            const chooser = createSpeculativeDecoder(settingsFor("clasp"), { native, threadPlan: plan });
            await run(chooser, prompts[0]!);
            staticMask = chooser.skipMask ?? undefined;
        }
        const decoders = new Map<BenchMode, SpeculativeDecoder>(modes.map((mode) => [mode,
            mode === "static" ? createSpeculativeDecoder(settingsFor("clasp"), { native, staticMask, threadPlan: plan })
            : mode === "ngramMod" ? createSpeculativeDecoder(settingsFor("lookup"), { copyDrafter: ngramModCopyDrafter(), threadPlan: plan })
            : createSpeculativeDecoder(settingsFor(mode), { native: mode === "lookup" ? undefined : native, threadPlan: plan })]));
        const sweeper = options.skipRatioSweep && native ? skipRatioSweeper(native, plan) : undefined;

        const tallies = new Map<BenchMode, Tally>(modes.map((mode) => [mode, newTally()]));
        for (const [i, prompt] of prompts.entries()) {
            // the first baseline, patched plain at the main count, gives the reference output
            let reference: PlainRun | undefined;
            for (const baseline of baselines) {
                const plainRun = await baseline.run(prompt);
                addPlainRun(baseline.tally, plainRun);
                reference ??= plainRun;
                if (plainRun.tokens.join() !== reference.tokens.join()) baseline.tally.lossless = false;
            }
            for (const mode of modes) {
                const result = await run(decoders.get(mode)!, prompt);
                const tally = tallies.get(mode)!;
                tally.tokens += result.tokens.length;
                tally.ms += result.ms;
                tally.cpuMs += result.cpuMs;
                if (result.tokens.join() !== reference!.tokens.join()) tally.lossless = false;
            }
            await sweeper?.measure(run, prompt, reference!.tokens);
            options.log(`  ${name}: prompt ${i + 1}/${prompts.length} (${options.prompts[i]!.file})`);
        }

        const summaryOf = (baseline: Baseline): PlainResult =>
            ({ ...summarizePlain(baseline.tally), ...(baseline === baselines[0] ? {} : { sameTokensAsPlain: baseline.tally.lossless }) });
        const at = (count: number, mode: PlainMode) => baselines.find((baseline) => baseline.threads === count && baseline.mode === mode);
        const rate = (tally: PlainTally) => tally.tokens / tally.ms;
        const bestBaseline = baselines.reduce((best, baseline) => (rate(baseline.tally) > rate(best.tally) ? baseline : best));
        const best = bestBaseline.tally;
        const plainRate = 1000 * rate(best);
        const mainStock = at(threads, "stockPlain");
        const result: ModelResult = {
            name, layers, skipped, prompts: prompts.length, generatedTokens: baselines[0]!.tally.tokens, threadPlan: plan,
            modes: { plain: summaryOf(baselines[0]!), ...(mainStock ? { stockPlain: summaryOf(mainStock) } : {}) },
            bestPlain: bestBaseline.mode,
        };
        if (plan) {
            result.bestPlainThreads = bestBaseline.threads;
            result.plainAtThreads = Object.fromEntries(counts.slice(1).map((count) => {
                const stock = at(count, "stockPlain");
                return [count, { plain: summaryOf(at(count, "plain")!), ...(stock ? { stockPlain: summaryOf(stock) } : {}) }];
            }));
        }
        const plainCpuRate = best.tokens / best.cpuMs;
        for (const mode of modes) result.modes[mode] = summarize(tallies.get(mode)!, decoders.get(mode)!, plainRate, plainCpuRate);
        if (options.skipRatioSweep)
            result.skipRatioSweep = sweeper?.points(plainRate) ?? { notRun: nativeUnavailable ?? "no native primitives" };
        return result;
    } finally {
        for (const baseline of baselines) await baseline.close();
        await context.dispose();
        await model.dispose();
    }
}

/**
 * Threads per phase, measured on a context of its own holding the first prompt, at every count the
 * machine has. The main context runs at its fastest one-token count; plain decoding is also timed at
 * the other counts, so the baseline is the fastest plain decoding whatever raw decodes said.
 */
async function planThreads(model: LlamaModel, contextSize: number, prompt: Prompt, options: MeasureOptions): Promise<{ plan: ThreadPlan } | { notMeasured: string }> {
    if (options.nativeUnavailable !== undefined) return { notMeasured: options.nativeUnavailable };
    const context = await model.createContext({ ...decodingContextOptions, contextSize, threads: options.threads, sequences: 1 });
    try {
        const sequence = context.getSequence();
        let native: ClaspNative;
        try {
            native = options.createNative!(context, sequence);
        } catch (error) {
            return { notMeasured: (error as Error).message };
        }
        await sequence.evaluateWithoutGeneratingNewTokens(prompt.tokens);
        return { plan: await measureThreadPlan(context, sequence, { native }) };
    } finally {
        await context.dispose();
    }
}

/** One plain decoding the speedups may be against. */
interface Baseline {
    mode: PlainMode;
    threads: number;
    tally: PlainTally;
    run(prompt: Prompt): Promise<PlainRun>;
    close(): void | Promise<void>;
}

async function plainContext(model: LlamaModel, contextSize: number, threads: number) {
    const context = await model.createContext({ ...decodingContextOptions, contextSize, threads, sequences: 1 });
    return { context, sequence: context.getSequence() };
}

function summarize(tally: Tally, decoder: SpeculativeDecoder, plainRate: number, plainCpuRate: number): ModeResult {
    const totals = decoder.totals;
    const rate = (tally.tokens * 1000) / tally.ms;
    return {
        tokensPerSecond: rate,
        speedup: rate / plainRate,
        cpuSpeedup: tally.tokens / tally.cpuMs / plainCpuRate,
        acceptance: totals.drafted > 0 ? totals.accepted / totals.drafted : 0,
        meanAccepted: totals.rounds > 0 ? (totals.accepted + totals.rounds) / totals.rounds : 1,
        dpOverheadPct: (100 * totals.dpMs) / tally.ms,
        idealBound: idealBound(decoder, plainRate),
        lossless: tally.lossless,
    };
}
