// `npm run bench [-- --quick] [--real-only] [--json FILE] [--model PATH]... [--prompts N] [--max-tokens N] [--threads N] [--modes M,...] [--real ID]... [--fixture NAME]... [--thread-plan]`
// Every decoding mode against plain greedy decoding on the same model, machine and run, over
// held-out prompts; prints a Markdown table and optionally writes the JSON document.
import { availableParallelism } from "node:os";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { getLlama, type Llama } from "node-llama-cpp";
import { ensureFixture, type FixturePresetName, type FixtureSpec } from "../src/fixtures/index.ts";
import { heldOutPrompts } from "./heldOutPrompts.ts";
import { benchModes, measureModel, type BenchMode } from "./measureModel.ts";
import { measureRealModel, type RealModelResult } from "./realModel.ts";
import { cachedModelPath, pinnedModels } from "../src/models/pinnedModels.ts";
import { describeMachine, jsonReport, markdownReport } from "./report.ts";

/**
 * Layer skip's best case: half of the 16 layers are exact identities and the weights are large
 * enough for confident (draftable) predictions, so layer-skip drafts are always right and cost
 * about half a step. Random fixtures have no redundant layers and flat predictions.
 */
const halfIdentity: FixtureSpec = {
    arch: "llama", layers: 16, embd: 256, heads: 8, kvHeads: 4, ff: 768, tensorType: "F16", contextLength: 2048,
    identityLayers: [2, 4, 6, 8, 10, 12, 13, 14], weightStd: 1.0,
};

/** The same at d=1024, ff 2816 (360 MB of F16 weights): a decode bound by weight reads, not by the loop's overheads. */
const memoryBound: FixtureSpec = { ...halfIdentity, embd: 1024, ff: 2816 };

/** The generated fixtures by `--fixture` name, in the order a full run measures them. */
const fixtureChoices: Record<string, FixturePresetName | FixtureSpec> = {
    rand: "rand", redundant: "redundant", scaled: "scaled", wide: "wide", "half-identity": halfIdentity, "memory-bound": memoryBound,
};
const fixtureLabel = (name: string) => (name === "half-identity" ? "fixture:half-identity (synthetic best case)" : `fixture:${name}`);

const usage = "usage: npm run bench -- [--quick] [--real-only] [--json FILE] [--model PATH]... [--prompts N] [--max-tokens N] [--threads N]"
    + ` [--modes ${benchModes.join(",")}] [--real ${pinnedModels.map((model) => model.id).join("|")}]...`
    + ` [--fixture ${Object.keys(fixtureChoices).join("|")}]... [--thread-plan]`;

/** `--modes a,b`: a subset of the speculative modes (plain and stockPlain always run). */
function modeList(value: string | undefined): BenchMode[] | undefined {
    if (value === undefined) return undefined;
    const modes = value.split(",").map((mode) => mode.trim()).filter(Boolean);
    const unknown = modes.filter((mode) => !benchModes.includes(mode as BenchMode));
    if (unknown.length > 0 || modes.length === 0) throw new Error(`--modes: unknown mode(s) "${unknown.join(", ") || value}"\n${usage}`);
    return modes as BenchMode[];
}

function positiveInteger(value: string | undefined, name: string, fallback: number): number {
    if (value === undefined) return fallback;
    const number = Number(value);
    if (!Number.isInteger(number) || number < 1) throw new Error(`--${name} needs a positive integer, got "${value}"\n${usage}`);
    return number;
}

function sharedModels(): string[] {
    const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
    const directory = resolve(repoRoot, "../shared/models");
    if (!existsSync(directory)) return [];
    return readdirSync(directory).filter((file) => file.endsWith(".gguf")).sort().map((file) => join(directory, file));
}

async function loadLlama(threads: number): Promise<{ llama: Llama; nativeUnavailable?: string; createNative?: typeof import("../src/engine/native/index.ts").createClaspNative }> {
    try {
        const native = await import("../src/engine/native/index.ts");
        return { llama: await native.loadClaspLlama({ gpu: "cpu", maxThreads: threads }), createNative: native.createClaspNative };
    } catch (error) {
        // lookup and auto still run on the stock binary; the layer-skip rows say why they are missing
        return { llama: await getLlama({ gpu: false, logLevel: "error" as never }), nativeUnavailable: (error as Error).message };
    }
}

async function main(): Promise<void> {
    const { values } = parseArgs({
        options: {
            quick: { type: "boolean", default: false },
            // the trained models only (and --model ones): the numbers that say what a user gets
            "real-only": { type: "boolean", default: false },
            json: { type: "string" },
            model: { type: "string", multiple: true, default: [] },
            prompts: { type: "string" },
            "max-tokens": { type: "string" },
            threads: { type: "string" },
            // a subset of the modes: the real models then skip the skip-ratio sweep (unless clasp is in it) and the quality cases
            modes: { type: "string" },
            // only these of the pinned real models
            real: { type: "string", multiple: true, default: [] },
            // only these fixtures (and no real model unless --real names one)
            fixture: { type: "string", multiple: true, default: [] },
            // measure threads per phase on each model and run the speculative modes with them
            "thread-plan": { type: "boolean", default: false },
            help: { type: "boolean", default: false },
        },
    });
    if (values.help) return console.log(usage);
    const quick = values.quick!;
    const promptCount = positiveInteger(values.prompts, "prompts", quick ? 6 : 24);
    const maxTokens = positiveInteger(values["max-tokens"], "max-tokens", quick ? 32 : 64);
    const threads = positiveInteger(values.threads, "threads", 1);
    for (const path of values.model!) if (!existsSync(path)) throw new Error(`--model ${path}: no such file\n${usage}`);
    const modes = modeList(values.modes);
    const realIds = values.real!;
    for (const id of realIds) if (!pinnedModels.some((model) => model.id === id)) throw new Error(`--real ${id}: not a pinned model\n${usage}`);

    const fixtureNames = values.fixture!;
    for (const name of fixtureNames) if (!(name in fixtureChoices)) throw new Error(`--fixture ${name}: not a fixture\n${usage}`);
    const onlyFixtures = fixtureNames.length > 0;
    const realOnly = values["real-only"]!;
    const fixtures = onlyFixtures ? fixtureNames : realOnly ? [] : quick ? ["redundant", "half-identity"] : Object.keys(fixtureChoices);
    const models: { name: string; path: string; real?: boolean }[] = [];
    for (const name of fixtures) models.push({ name: fixtureLabel(name), path: await ensureFixture(fixtureChoices[name]!) });
    for (const path of [...(quick || onlyFixtures ? [] : sharedModels()), ...values.model!]) models.push({ name: basename(path), path });
    // the real models `npm run models` fetched (quick: the primary one only)
    const wantsReal = (id: string) => (realIds.length > 0 ? realIds.includes(id) : !onlyFixtures && (!quick || id === "smollm2"));
    for (const pinned of pinnedModels.filter((model) => wantsReal(model.id))) {
        const path = cachedModelPath(pinned.id);
        if (path) models.push({ name: pinned.label, path, real: true });
        else process.stderr.write(`${pinned.label} is not cached: \`npm run models\` fetches it\n`);
    }

    const prompts = heldOutPrompts(promptCount);
    // with --thread-plan a model may run at any count up to the machine's (node-llama-cpp caps a context at maxThreads)
    const { llama, nativeUnavailable, createNative } = await loadLlama(values["thread-plan"] ? availableParallelism() : threads);
    const log = (message: string) => process.stderr.write(message + "\n");
    if (nativeUnavailable) log(`layer-skip modes unavailable: ${nativeUnavailable}`);
    const results: RealModelResult[] = [];
    for (const { name, path, real } of models) {
        log(`benchmarking ${name}`);
        const options = { prompts, maxTokens, threads, nativeUnavailable, createNative, log, modes, threadPlan: values["thread-plan"]! };
        const qualityCases = modes ? 0 : quick ? 10 : 100;
        if (real) results.push(...await measureRealModel(llama, path, name, { ...options, qualityCases, repeatPrompts: promptCount }));
        else results.push(await measureModel(llama, path, name, options));
    }
    const machine = describeMachine(llama.gpu === false ? "cpu" : llama.gpu, threads);
    console.log(markdownReport(machine, results, { prompts: prompts.length, maxTokens }));
    if (values.json) writeFileSync(values.json, JSON.stringify(jsonReport(machine, results), null, 2) + "\n");
    await llama.dispose();
}

main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
});
