// What the status bar's "measured speedup" says under editor-like traffic: many short completion
// requests (1–16 tokens, a third of them 1-token warm-ups, a growing prefix as if typed, some aborted by the next keystroke) through
// the in-process Engine, per mode, each mode on a fresh engine so its rolling window holds only
// its own requests. Prints the engine's streamed `stats` events and, as a yardstick, the decode
// tokens/s the same traffic got in `off` mode.
// With --cpu-clock every timing (the decoder's and the engine's) reads the process's CPU time
// instead of wall time: on a shared, loaded machine wall time swings by several times between
// runs, which hides what the stats themselves get wrong.
// Run: node --import tsx bench/speedup-stats.ts [requests=60] [fixture=rand] [--cpu-clock]
import { Engine } from "../src/engine/engine.ts";
import { ensureFixture, isFixturePresetName, mulberry32, type FixturePresetName } from "../src/fixtures/index.ts";
import type { CompletionRequest, SpeculationMode, SpeculationStats } from "../src/engine/protocol.ts";

const cpuClock = process.argv.includes("--cpu-clock");
const [requestsArgument, fixtureArgumentText] = process.argv.slice(2).filter((argument) => argument !== "--cpu-clock");
if (cpuClock) {
    const cpuMs = () => {
        const { user, system } = process.cpuUsage();
        return (user + system) / 1000;
    };
    Object.defineProperty(performance, "now", { value: cpuMs });
}
const REQUESTS = Number(requestsArgument ?? 60);
if (!(Number.isInteger(REQUESTS) && REQUESTS > 0)) throw new Error(`requests must be a positive integer, got ${requestsArgument}`);
const FIXTURE: FixturePresetName = fixtureArgument(fixtureArgumentText ?? "rand");

function fixtureArgument(name: string): FixturePresetName {
    if (!isFixturePresetName(name)) throw new Error(`unknown fixture "${name}"`);
    return name;
}

interface Traffic {
    name: string;
    mode: SpeculationMode;
    /** The typed text: a repetitive one gives prompt lookup something to copy. */
    text: string;
    /** Tokens per request when fixed (long requests let random models fall into loops lookup can copy). */
    maxTokens?: number;
}

const codeText = "export function total(items: number[]): number {\n    let sum = 0;\n    for (const item of items) sum += item;\n    return sum;\n}\n";
const repetitiveText = "value = value + 1;\n".repeat(12);

const traffic: Traffic[] = [
    { name: "off", mode: "off", text: codeText },
    { name: "auto", mode: "auto", text: codeText },
    { name: "lookup", mode: "lookup", text: codeText },
    { name: "off (repetitive)", mode: "off", text: repetitiveText },
    { name: "lookup (repetitive)", mode: "lookup", text: repetitiveText },
    { name: "auto (repetitive)", mode: "auto", text: repetitiveText },
    { name: "off (long)", mode: "off", text: repetitiveText, maxTokens: 96 },
    { name: "lookup (long)", mode: "lookup", text: repetitiveText, maxTokens: 96 },
];

interface ModeResult {
    name: string;
    tokens: number;
    decodeMs: number;
    aborted: number;
    last?: SpeculationStats;
    /** The reported speedup's range once the rolling window is full. */
    low: number;
    high: number;
}

async function runTraffic(modelPath: string, { name, mode, text, maxTokens }: Traffic): Promise<ModeResult> {
    const engine = new Engine();
    const info = await engine.load({ modelPath, threads: 1, gpu: "cpu" });
    if (!info.supportsLayerSkip && name === traffic[0]!.name) console.log("(stock binary: no layer-skip drafts)");
    engine.configure({ mode });
    const result: ModeResult = { name, tokens: 0, decodeMs: 0, aborted: 0, low: Infinity, high: -Infinity };
    engine.on("stats", (stats) => {
        result.last = stats;
        if (stats.requests < 20 || stats.measuredSpeedup === null) return;
        result.low = Math.min(result.low, stats.measuredSpeedup);
        result.high = Math.max(result.high, stats.measuredSpeedup);
    });
    const random = mulberry32(7); // the same request sizes and aborts in every mode
    try {
        for (let i = 0; i < REQUESTS; i++) {
            const typed = text.slice(0, 20 + ((i * 3) % (text.length - 20)));
            const request: CompletionRequest = { prefix: typed, suffix: "\n", maxTokens: maxTokens ?? (random() < 0.3 ? 1 : 1 + Math.floor(random() * 16)), maxLines: 1000 };
            const abortAfterMs = maxTokens === undefined && random() < 0.2 ? random() * 3 : undefined;
            const controller = new AbortController();
            const timer = abortAfterMs === undefined ? undefined : setTimeout(() => controller.abort(), abortAfterMs);
            try {
                const done = await engine.complete(request, controller.signal);
                result.tokens += done.generatedTokens;
                result.decodeMs += done.timings.totalMs - done.timings.promptMs;
            } catch (error) {
                if (!controller.signal.aborted) throw error;
                result.aborted++;
            } finally {
                clearTimeout(timer);
            }
        }
    } finally {
        await engine.dispose();
    }
    return result;
}

function format(stats: SpeculationStats | undefined): string {
    if (!stats) return "no stats event";
    const speedup = stats.measuredSpeedup === null ? "–" : `${stats.measuredSpeedup.toFixed(2)}×`;
    return `measuredSpeedup ${speedup}, tokens/s ${stats.tokensPerSecond.toFixed(0)}, plain tokens/s ${stats.plainTokensPerSecond?.toFixed(0) ?? "–"}, ` +
        `α ${(100 * stats.acceptance).toFixed(0)}%, DP ${stats.dpSharePct.toFixed(1)}%, speculating ${stats.speculating}, requests ${stats.requests}`;
}

async function main(): Promise<void> {
    const modelPath = await ensureFixture(FIXTURE);
    console.log(`${FIXTURE} fixture, ${REQUESTS} requests per mode (1–16 tokens, ~20 % aborted), 1 thread, ${cpuClock ? "CPU" : "wall"} clock`);
    const results: ModeResult[] = [];
    for (const each of traffic) {
        const result = await runTraffic(modelPath, each);
        results.push(result);
        const observed = result.decodeMs > 0 ? (1000 * result.tokens) / result.decodeMs : 0;
        console.log(`${each.name.padEnd(20)} ${format(result.last)} | engine-timed ${observed.toFixed(0)} tok/s over ${result.tokens} tokens, ${result.aborted} aborted`);
    }
    // The yardstick: completed requests' decode tokens/s relative to the `off` run of the same text.
    const observedOf = (name: string) => {
        const found = results.find((each) => each.name === name)!;
        return (1000 * found.tokens) / found.decodeMs;
    };
    console.log("\nobserved ratio to off on the same traffic (engine timings, completed requests only):");
    for (const result of results) {
        const base = result.name.replace(/^\w+/, "off");
        console.log(`  ${result.name.padEnd(20)} ${(observedOf(result.name) / observedOf(base)).toFixed(2)}×  ` +
            `(reported at the end ${result.last?.measuredSpeedup?.toFixed(2) ?? "–"}×, over the run ${result.low.toFixed(2)}–${result.high.toFixed(2)}×)`);
    }
}

await main();
