// Benchmark output: a Markdown table per model and the JSON document of issue 4.
import { cpus, totalmem } from "node:os";
import type { BenchMode, ModelResult } from "./measureModel.ts";

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

const modeOrder: BenchMode[] = ["static", "clasp", "lookup", "hybrid", "auto"];
const fixed = (value: number | null, digits = 2) => (value === null || !Number.isFinite(value) ? "–" : value.toFixed(digits));

export function markdownReport(machine: Machine, models: ModelResult[], settings: { prompts: number; maxTokens: number }): string {
    const lines = [
        `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.platform}, Node ${machine.node}, backend ${machine.backend}, ${machine.threads} thread(s).`,
        `Prompts: ${settings.prompts} held-out FIM cuts of zod's TypeScript sources, up to ${settings.maxTokens} generated tokens each, greedy.`,
        "",
    ];
    for (const model of models) {
        lines.push(`### ${model.name} (${model.layers} layers, ${model.generatedTokens} tokens per mode)`, "");
        lines.push("| mode | tokens/s | speedup | speedup (CPU time) | α | mean accepted | DP overhead % | ideal bound | lossless |");
        lines.push("|---|---|---|---|---|---|---|---|---|");
        lines.push(`| plain | ${fixed(model.modes.plain.tokensPerSecond, 1)} | 1.00 | 1.00 | – | 1.00 | – | – | ✓ |`);
        for (const mode of modeOrder) {
            const result = model.modes[mode];
            if (result) {
                lines.push(`| ${mode} | ${fixed(result.tokensPerSecond, 1)} | ${fixed(result.speedup)} | ${fixed(result.cpuSpeedup)} | ${fixed(result.acceptance)} | ${fixed(result.meanAccepted)} | ${fixed(result.dpOverheadPct, 1)} | ${fixed(result.idealBound)} | ${result.lossless ? "✓" : "✗"} |`);
            } else if (model.skipped[mode]) lines.push(`| ${mode} | not run: ${model.skipped[mode]} | | | | | | | |`);
        }
        lines.push("");
    }
    return lines.join("\n");
}

/** The JSON document: `{machine, models: [{name, layers, modes: {plain: {tokensPerSecond}, <mode>: {...}}}]}`. */
export function jsonReport(machine: Machine, models: ModelResult[]) {
    return { machine, models: models.map(({ name, layers, modes }) => ({ name, layers, modes })) };
}
