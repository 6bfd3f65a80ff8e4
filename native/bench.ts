// Benchmark of the native CLaSp primitives on fixture models (CPU, 1 thread by default):
//   decode ms/token with 0 %, 25 % and 50 % of the layers skipped, measured two ways
//     - node-llama-cpp's own single-token decode with the context mask set (what verification-free
//       decoding would cost through the JS batch queue),
//     - the native draft loop (what a CLaSp draft costs per token, one thread-pool hop per draft);
//   DP (Algorithm 1) ms for M = 25 % and 50 % of the layers.
// Prints medians. Usage: node --import tsx native/bench.ts [--threads N] [--tokens N] [--repeats N]
import type { LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";
import { ensureFixture, fixturePresets, type FixtureSpec } from "../src/fixtures/index.ts";
import { createClaspNative, loadClaspLlama, type ClaspNative } from "../src/engine/native/index.ts";

const argValue = (name: string, fallback: number) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const threads = argValue("--threads", 1);
const tokensPerRun = argValue("--tokens", 32);
const repeats = argValue("--repeats", 5);

const models: Record<string, FixtureSpec> = {
    "wide (8 x 256, F16)": fixturePresets.wide,
    "bench512 (8 x 512, ff 1536, F16)": { arch: "llama", layers: 8, embd: 512, heads: 8, kvHeads: 4, ff: 1536, tensorType: "F16", contextLength: 2048 },
    "deep (16 x 512, ff 1536, F16)": { arch: "llama", layers: 16, embd: 512, heads: 8, kvHeads: 4, ff: 1536, tensorType: "F16", contextLength: 2048 },
};

interface Cost { wall: number; cpu: number }

/** Wall and process CPU time of fn, in ms. CPU time is far less sensitive to other load on a shared machine. */
async function timed(fn: () => Promise<unknown>): Promise<Cost> {
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    await fn();
    const cpu = process.cpuUsage(cpu0);
    return { wall: performance.now() - wall0, cpu: (cpu.user + cpu.system) / 1000 };
}

const medianCost = (costs: Cost[], per = 1): Cost => ({ wall: median(costs.map(c => c.wall)) / per, cpu: median(costs.map(c => c.cpu)) / per });
const show = (c: Cost) => `${c.wall.toFixed(2)} / ${c.cpu.toFixed(2)}`;

const median = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)]!;
};

/** `count` layers spread over the stack (first and last kept while possible). */
function spreadMask(nLayer: number, count: number): Uint8Array {
    const mask = new Uint8Array(nLayer);
    for (let i = 0; i < count; i++) mask[Math.min(nLayer - 1, Math.round(((i + 1) * nLayer) / (count + 1)))] = 1;
    return mask;
}

async function jsDecodeMsPerToken(sequence: LlamaContextSequence, prompt: Token[]): Promise<Cost> {
    const runs: Cost[] = [];
    for (let r = 0; r < repeats; r++) {
        await sequence.clearHistory();
        await sequence.evaluateWithoutGeneratingNewTokens(prompt);
        runs.push(await timed(async () => {
            for (let i = 0; i < tokensPerRun; i++) await sequence.evaluateWithoutGeneratingNewTokens([prompt[i % prompt.length]!]);
        }));
    }
    return medianCost(runs, tokensPerRun);
}

async function nativeDraftMsPerToken(native: ClaspNative, sequence: LlamaContextSequence, prompt: Token[], mask: Uint8Array): Promise<Cost> {
    await sequence.clearHistory();
    await sequence.evaluateWithoutGeneratingNewTokens(prompt);
    const runs: Cost[] = [];
    for (let r = 0; r < repeats; r++) {
        let drafted = 0;
        const cost = await timed(async () => {
            drafted = (await native.draft({ pending: [prompt[0]!], startPos: prompt.length, mask, maxTokens: tokensPerRun, minConfidence: 0 })).tokens.length;
        });
        // a draft ends early at an end-of-generation token: cost per decoded token
        runs.push({ wall: cost.wall / drafted, cpu: cost.cpu / drafted });
    }
    return medianCost(runs);
}

async function dpMs(native: ClaspNative, sequence: LlamaContextSequence, prompt: Token[], numSkip: number): Promise<Cost> {
    await sequence.clearHistory();
    native.setCapture(true);
    await sequence.evaluateWithoutGeneratingNewTokens(prompt);
    native.setCapture(false);
    const hidden = native.readHiddenStates(prompt.length - 1);
    if (!hidden) throw new Error("capture failed");
    const runs: Cost[] = [];
    for (let r = 0; r < repeats; r++) runs.push(await timed(() => native.optimize(prompt.length - 1, hidden, numSkip)));
    return medianCost(runs);
}

async function benchModel(name: string, model: LlamaModel) {
    const context = await model.createContext({ contextSize: 1024, sequences: 1, threads, flashAttention: false });
    try {
        const sequence = context.getSequence();
        const native = createClaspNative(context, sequence);
        const nLayer = native.info.nLayer;
        const prompt = model.tokenize("def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n");
        console.log(`\n${name}: ${nLayer} layers, prompt ${prompt.length} tokens`);
        console.log("  skipped        | node-llama-cpp decode ms/token | native draft ms/token   (wall / CPU)");
        for (const fraction of [0, 0.25, 0.5]) {
            const mask = spreadMask(nLayer, Math.round(fraction * nLayer));
            native.setLayerSkip(mask.some(v => v) ? mask : null);
            const js = await jsDecodeMsPerToken(sequence, prompt);
            native.setLayerSkip(null);
            const draft = await nativeDraftMsPerToken(native, sequence, prompt, mask);
            const label = `${(fraction * 100).toFixed(0)} % (${mask.reduce((a, b) => a + b, 0)}/${nLayer})`;
            console.log(`  ${label.padEnd(14)} | ${show(js).padStart(30)} | ${show(draft).padStart(21)}`);
        }
        for (const fraction of [0.25, 0.5]) {
            const m = Math.round(fraction * nLayer);
            console.log(`  DP M=${m}: ${show(await dpMs(native, sequence, prompt, m))} ms wall / CPU (median of ${repeats})`);
        }
    } finally {
        await context.dispose();
    }
}

const llama = await loadClaspLlama({ gpu: "cpu", maxThreads: threads });
console.log(`CLaSp native benchmark: ${threads} thread(s), ${tokensPerRun} tokens per run, medians of ${repeats} runs, gpu ${String(llama.gpu)}`);
for (const [name, spec] of Object.entries(models)) {
    const model = await llama.loadModel({ modelPath: await ensureFixture(spec), gpuLayers: 0 });
    try {
        await benchModel(name, model);
    } finally {
        await model.dispose();
    }
}
await llama.dispose();
