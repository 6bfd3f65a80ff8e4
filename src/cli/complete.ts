// `npm run complete -- --file F --line N --column C [--model M]`: the main job from a terminal.
// Prints the completion at a 1-based line/column of a file, then its timings on stderr.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Engine, stopContextOf } from "../engine/engine.ts";
import { splitAtCursor } from "../engine/cursor.ts";
import { applyStopRules } from "../text/stopRules.ts";
import { needsSingleLine } from "../completion/promptLayout.ts";
import { resolveModel } from "./modelSource.ts";
import { cacheRoot } from "../fixtures/cachePaths.ts";
import { noFimLabel, type CompletionRequest, type SpeculationMode } from "../engine/protocol.ts";

const usage = "usage: npm run complete -- --file F --line N --column C [--model PATH|URI] [--mode off|clasp|lookup|hybrid|auto] [--max-tokens N] [--threads N]";

async function main(): Promise<void> {
    const { values } = parseArgs({
        options: {
            file: { type: "string" },
            line: { type: "string" },
            column: { type: "string" },
            model: { type: "string" },
            mode: { type: "string" },
            "max-tokens": { type: "string" },
            threads: { type: "string" },
            help: { type: "boolean" },
        },
    });
    if (values.help) return void console.log(usage);
    if (!values.file || !values.line || !values.column) throw new Error(`missing --file, --line or --column (${usage})`);
    const line = positiveInt(values.line, "--line");
    const column = positiveInt(values.column, "--column");

    const source = await readFile(values.file).catch(() => { throw new Error(`cannot read file ${values.file}`); });
    if (source.includes(0)) throw new Error(`${values.file} looks binary; nothing to complete`);
    const { prefix, suffix } = splitAtCursor(source.toString("utf8"), line, column);

    const model = await resolveModel(values.model ?? process.env.CLASP_MODEL ?? "", {
        downloadDirectory: join(cacheRoot(), "models"),
        onDownloadProgress: (done, total) => process.stderr.write(`\rdownloading ${(done / 2 ** 20).toFixed(1)} / ${(total / 2 ** 20).toFixed(1)} MiB`),
    });
    if (model.note) console.error(model.note);

    const engine = new Engine();
    try {
        const loadStart = performance.now();
        const info = await engine.load({ modelPath: model.path, threads: values.threads ? positiveInt(values.threads, "--threads") : undefined });
        const loadMs = performance.now() - loadStart;
        const request: CompletionRequest = {
            prefix,
            suffix,
            filePath: values.file,
            maxTokens: values["max-tokens"] ? positiveInt(values["max-tokens"], "--max-tokens") : 64,
            singleLine: needsSingleLine(suffix.split("\n", 1)[0]!),
            mode: values.mode as SpeculationMode | undefined,
        };
        for (const note of [info.speculationOff, info.layerSkipOff]) if (note) console.error(note);
        const result = await engine.complete(request);
        // What the editor would show: the same stop rules over the same context.
        const shown = applyStopRules(result.text, stopContextOf(request));
        process.stdout.write(shown.text + "\n");
        const t = result.timings;
        console.error(
            `model ${info.name} (${info.architecture}, ${info.layers} layers, ${info.backend}) · ${result.usedFim ? "FIM" : noFimLabel} · ` +
            `load ${loadMs.toFixed(0)} ms · prompt ${t.promptTokens} tokens in ${t.promptMs.toFixed(0)} ms · ` +
            `first token ${t.firstTokenMs.toFixed(0)} ms · ${result.generatedTokens} tokens in ${t.totalMs.toFixed(0)} ms ` +
            `(${t.tokensPerSecond.toFixed(1)} tok/s) · stop: ${result.stopReason}`,
        );
        const spec = result.speculation;
        if (spec && spec.rounds > 0)
            console.error(
                `speculation ${spec.mode}: ${spec.rounds} rounds · α ${(spec.acceptance * 100).toFixed(0)}% · ` +
                `${spec.meanAccepted.toFixed(2)} tokens/round · DP ${spec.dpRuns}× ${spec.dpMs.toFixed(0)} ms · ` +
                `skipping layers [${spec.skipSet.join(", ")}]`,
            );
    } finally {
        await engine.dispose();
    }
}

function positiveInt(text: string, flag: string): number {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1) throw new Error(`${flag} must be a positive integer, got "${text}"`);
    return value;
}

main().catch((error: unknown) => {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
});
