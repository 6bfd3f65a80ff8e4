// Benchmark output: a Markdown table per model and the JSON document of issue 4.
import { cpus, totalmem } from "node:os";
import { benchModes, type ModelResult, type PlainMode, type PlainResult } from "./measureModel.ts";
import type { RealModelResult } from "./realModel.ts";
import type { SkipRatioSweep } from "./skipRatioSweep.ts";
import type { QualityResult } from "./quality.ts";
import type { ThreadPlan } from "../src/engine/threadPlan.ts";

export interface Machine {
    cpu: string;
    cores: number;
    memoryGiB: number;
    platform: string;
    node: string;
    backend: string;
    threads: number;
}

export function describeMachine(backend: string, threads: number): Machine {
    return {
        cpu: cpus()[0]?.model.trim() ?? "unknown",
        cores: cpus().length,
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        platform: `${process.platform}-${process.arch}`,
        node: process.version,
        backend,
        threads,
    };
}

const fixed = (value: number | null, digits = 2) => (value === null || !Number.isFinite(value) ? "–" : value.toFixed(digits));

export function markdownReport(machine: Machine, models: RealModelResult[], settings: { prompts: number; maxTokens: number }): string {
    const lines = [
        `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.platform}, Node ${machine.node}, backend ${machine.backend}, ${machine.threads} thread(s).`,
        `Prompts: ${settings.prompts} held-out FIM cuts of zod's TypeScript sources, up to ${settings.maxTokens} generated tokens each, greedy.`,
        "",
    ];
    for (const model of models) {
        lines.push(`### ${model.name} (${model.layers} layers, ${model.generatedTokens} tokens per mode)`, "");
        lines.push("| mode | tokens/s | speedup | speedup (CPU time) | α | mean accepted | DP overhead % | ideal bound | lossless |");
        lines.push("|---|---|---|---|---|---|---|---|---|");
        lines.push(...plainRows(model));
        for (const mode of benchModes) {
            const result = model.modes[mode];
            if (result) {
                lines.push(`| ${mode} | ${fixed(result.tokensPerSecond, 1)} | ${fixed(result.speedup)} | ${fixed(result.cpuSpeedup)} | ${fixed(result.acceptance)} | ${fixed(result.meanAccepted)} | ${fixed(result.dpOverheadPct, 1)} | ${fixed(result.idealBound)} | ${result.lossless ? "✓" : "✗"} |`);
            } else if (model.skipped[mode]) lines.push(`| ${mode} | not run: ${model.skipped[mode]} | | | | | | | |`);
        }
        lines.push("", plainComparison(model), "");
        if (model.threadPlan) lines.push(threadPlanMarkdown(model.threadPlan), "");
        else if (model.skipped.threadPlan) lines.push(`Thread plan: not measured (${model.skipped.threadPlan}).`, "");
        if (model.skipRatioSweep) lines.push(...sweepMarkdown(model.skipRatioSweep));
        if (model.quality) lines.push(qualityMarkdown(model.quality), "");
    }
    return lines.join("\n");
}

const plainModes: PlainMode[] = ["plain", "stockPlain"];

/**
 * Every plain baseline (patched and stock, and with a thread plan at each thread count); speedups of
 * every row are against the fastest one, marked "best".
 */
function plainRows(model: ModelResult): string[] {
    const groups: [number | undefined, Partial<Record<PlainMode, PlainResult>>][] = [[model.plainAtThreads ? model.threadPlan?.threads.plain : undefined, model.modes]];
    for (const [threads, results] of Object.entries(model.plainAtThreads ?? {})) groups.push([Number(threads), results]);
    const isBest = (threads: number | undefined, mode: PlainMode) =>
        mode === model.bestPlain && (model.bestPlainThreads === undefined || threads === model.bestPlainThreads);
    const best = groups.flatMap(([threads, results]) => plainModes.filter((mode) => isBest(threads, mode)).map((mode) => results[mode]!))[0]!.tokensPerSecond;
    const rows = groups.flatMap(([threads, results]) => plainModes.flatMap((mode) => {
        const result = results[mode];
        if (!result) return [];
        const name = threads === undefined ? mode : `${mode}, ${threads} thread(s)`;
        const label = isBest(threads, mode) ? `${name} (best plain)` : name;
        const lossless = result.sameTokensAsPlain === false ? "✗" : "✓";
        return [`| ${label} | ${fixed(result.tokensPerSecond, 1)} | ${fixed(result.tokensPerSecond / best)} | – | – | 1.00 | – | – | ${lossless} |`];
    }));
    if (model.skipped.stockPlain) rows.push(`| stockPlain | not run: ${model.skipped.stockPlain} | | | | | | | |`);
    return rows;
}

/** Patched against stock plain decoding, medians over prompts. */
function plainComparison(model: ModelResult): string {
    const { plain, stockPlain } = model.modes;
    const mine = `patched plain: ${fixed(plain.msPerToken)} ms/token, prefill ${fixed(plain.prefillMsPerToken, 3)} ms/prompt token`;
    if (!stockPlain) return `${mine} (medians over prompts).`;
    return `${mine}; stock: ${fixed(stockPlain.msPerToken)} ms/token, prefill ${fixed(stockPlain.prefillMsPerToken, 3)} ms/prompt token ` +
        `(medians over prompts). Patched ÷ stock speed: decode ${fixed(stockPlain.msPerToken / plain.msPerToken)}×, ` +
        `prefill ${fixed(stockPlain.prefillMsPerToken / plain.prefillMsPerToken)}×.`;
}

/** The per-phase costs at each thread count, and the counts the speculative modes ran with. */
function threadPlanMarkdown(plan: ThreadPlan): string {
    const costs = plan.costs.map((cost) =>
        `${cost.threads} thread(s): token ${fixed(cost.tokenMs, 1)}, ` +
        plan.batchSizes.map((n) => `${n} tokens ${fixed(cost.batchMs[n]!, 1)}`).join(", ") +
        (cost.draftTokenMs !== undefined ? `, draft token ${fixed(cost.draftTokenMs, 1)}` : "") +
        (cost.dpMs !== undefined ? `, DP ${fixed(cost.dpMs, 1)}` : ""));
    const { plain, draft, verify, dp } = plan.threads;
    return `Thread plan (median ms of raw decodes): ${costs.join("; ")}. Speculative modes ran one-token steps on ${plain}, ` +
        `drafts on ${draft}, verify batches on ${verify} and the DP on ${dp} thread(s); plain and stockPlain on every count (rows above).`;
}

function sweepMarkdown(sweep: SkipRatioSweep): string[] {
    if (!Array.isArray(sweep)) return [`Skip-ratio sweep: not run (${sweep.notRun}).`, ""];
    return [
        "Skip-ratio sweep (`clasp` at each ratio against plain decoding, interleaved prompt by prompt):",
        "",
        "| skip ratio | layers skipped | α | mean accepted | draft cost ÷ plain | DP ms | ideal bound | speedup | lossless |",
        "|---|---|---|---|---|---|---|---|---|",
        ...sweep.map((p) =>
            `| ${p.skipRatio.toFixed(1)} | ${p.skippedLayers} | ${fixed(p.acceptance)} | ${fixed(p.meanAccepted)} | ${fixed(p.draftCostRatio)} | ${fixed(p.dpMs, 1)} | ${fixed(p.idealBound)} | ${fixed(p.speedup)} | ${p.lossless ? "✓" : "✗"} |`),
        "",
    ];
}

function qualityMarkdown(quality: QualityResult): string {
    return `Quality (${quality.cases} held-out cases, ${quality.usedFim ? "FIM" : "prefix-only"}, first completed line against the author's): ` +
        `exact match ${(100 * quality.firstLineExactMatch).toFixed(1)} %, mean line similarity ${quality.meanLineSimilarity.toFixed(3)}, ` +
        `${quality.emptySuggestions} cases with nothing to show.`;
}

/**
 * The JSON document: `{machine, models: [{name, layers, prompts, modes: {plain: {tokensPerSecond}, <mode>: {...}}}]}`;
 * real models also carry `skipRatioSweep` and `quality`, and a second entry with `promptSet: "repeat"`.
 */
export function jsonReport(machine: Machine, models: RealModelResult[]) {
    return {
        machine,
        models: models.map(({ name, layers, prompts, modes, bestPlain, skipped, promptSet, skipRatioSweep, quality, threadPlan, plainAtThreads, bestPlainThreads }) =>
            ({ name, layers, prompts, modes, bestPlain, skipped, promptSet, skipRatioSweep, quality, threadPlan, plainAtThreads, bestPlainThreads })),
    };
}
