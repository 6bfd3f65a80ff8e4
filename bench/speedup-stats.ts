// What the status bar's "measured speedup" says under editor-like traffic: many short completion
// requests (1–16 tokens, a third of them one-token warm-ups, a prefix growing as if typed, some
// aborted as if by the next keystroke) through the in-process Engine. Each mode has its own engine
// (so its rolling window holds only its own requests) and the modes take turns request by
// request, so a machine whose pace drifts slows them alike. Prints each mode's last streamed
// `stats` event of each scenario, the range of its measured speedup once the window holds only
// that scenario's requests, and a yardstick: the
// decode time `off` took for the same requests divided by the mode's (requests every mode
// completed; the output is the same, the decoders are lossless).
// With --cpu-clock every timing (the decoder's and the engine's) reads the process's CPU time
// instead of wall time: on a shared, loaded machine wall time swings by several times within a
// run, which hides what the stats themselves get wrong.
// Run: node --import tsx bench/speedup-stats.ts [requests=60] [fixture=rand] [--cpu-clock]
import { spawn, type ChildProcess } from "node:child_process";
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
const WINDOW = 20; // the rolling stats' window (requests)

function fixtureArgument(name: string): FixturePresetName {
    if (!isFixturePresetName(name)) throw new Error(`unknown fixture "${name}"`);
    return name;
}

interface Scenario {
    name: string;
    /** The typed text: a repetitive one gives prompt lookup something to copy. */
    text: string;
    /** Tokens per request when fixed (long requests let random models fall into loops lookup can copy). */
    maxTokens?: number;
    /** Keep the CPUs busy for the first third of the requests, as an editor starting up does. */
    busyStart?: boolean;
}

const codeText = "export function total(items: number[]): number {\n    let sum = 0;\n    for (const item of items) sum += item;\n    return sum;\n}\n";
const repetitiveText = "value = value + 1;\n".repeat(12);
const scenarios: Scenario[] = [
    { name: "code, short requests, CPUs busy for the first third (first requests cold, as when the editor starts)", text: codeText, busyStart: true },
    { name: "code, short requests", text: codeText },
    { name: "repetitive, short requests", text: repetitiveText },
    { name: "repetitive, 96-token requests", text: repetitiveText, maxTokens: 96 },
];

interface ModeRun {
    mode: SpeculationMode;
    engine: Engine;
    /** Requests served before this scenario. */
    since: number;
    last?: SpeculationStats;
    low: number;
    high: number;
    /** Decode ms of each request, undefined where it was aborted. */
    decodeMs: (number | undefined)[];
}

async function openMode(modelPath: string, mode: SpeculationMode): Promise<ModeRun | undefined> {
    const engine = new Engine();
    const info = await engine.load({ modelPath, threads: 1, gpu: "cpu" });
    if (mode === "clasp" && !info.supportsLayerSkip) {
        await engine.dispose();
        return undefined;
    }
    engine.configure({ mode });
    const run: ModeRun = { mode, engine, since: 0, low: Infinity, high: -Infinity, decodeMs: [] };
    engine.on("stats", (stats) => {
        run.last = stats;
        if (stats.requests < run.since + WINDOW || stats.measuredSpeedup === null) return;
        run.low = Math.min(run.low, stats.measuredSpeedup);
        run.high = Math.max(run.high, stats.measuredSpeedup);
    });
    return run;
}

/** Two processes spinning for `ms`: the machine busy with something else. */
function busyCpus(ms: number): ChildProcess[] {
    return [0, 1].map(() => spawn(process.execPath, ["-e", `const end = Date.now() + ${ms}; while (Date.now() < end);`], { stdio: "ignore" }));
}

async function runScenario(runs: ModeRun[], { text, maxTokens, busyStart }: Scenario): Promise<void> {
    for (const run of runs) Object.assign(run, { since: run.last?.requests ?? 0, low: Infinity, high: -Infinity, decodeMs: [] });
    const random = mulberry32(7); // the same requests and aborts for every mode
    // the spinners end themselves after a minute, should this run stop early
    let busy = busyStart ? busyCpus(60_000) : [];
    const stopBusy = () => {
        for (const child of busy) child.kill();
        busy = [];
    };
    try {
        for (let i = 0; i < REQUESTS; i++) {
            if (i === Math.floor(REQUESTS / 3)) stopBusy();
            const typed = text.slice(0, 20 + ((i * 3) % (text.length - 20)));
            const request: CompletionRequest = {
                prefix: typed, suffix: "\n", maxLines: 1000,
                maxTokens: maxTokens ?? (random() < 0.3 ? 1 : 1 + Math.floor(random() * 16)),
            };
            const abortAfterMs = maxTokens === undefined && random() < 0.2 ? random() * 3 : undefined;
            // take turns, starting with a different mode each time
            for (let k = 0; k < runs.length; k++) {
                const run = runs[(i + k) % runs.length]!;
                run.decodeMs[i] = await timedRequest(run.engine, request, abortAfterMs);
            }
        }
    } finally {
        stopBusy();
    }
}

async function timedRequest(engine: Engine, request: CompletionRequest, abortAfterMs: number | undefined): Promise<number | undefined> {
    const controller = new AbortController();
    const timer = abortAfterMs === undefined ? undefined : setTimeout(() => controller.abort(), abortAfterMs);
    try {
        const done = await engine.complete(request, controller.signal);
        return done.timings.totalMs - done.timings.promptMs;
    } catch (error) {
        if (!controller.signal.aborted) throw error;
        return undefined;
    } finally {
        clearTimeout(timer);
    }
}

function format(run: ModeRun, off: ModeRun): string {
    const stats = run.last;
    if (!stats) return "no stats event";
    let offMs = 0, modeMs = 0;
    run.decodeMs.forEach((ms, i) => {
        const plain = off.decodeMs[i];
        if (ms === undefined || plain === undefined) return;
        offMs += plain;
        modeMs += ms;
    });
    const speedup = stats.measuredSpeedup === null ? "–" : `${stats.measuredSpeedup.toFixed(2)}×`;
    const range = Number.isFinite(run.low) ? `${run.low.toFixed(2)}–${run.high.toFixed(2)}×` : "–";
    return `${run.mode.padEnd(7)} reported ${speedup.padEnd(6)} (full-window range ${range.padEnd(11)}) ` +
        `yardstick ${(offMs / modeMs).toFixed(2)}× | tokens/s ${stats.tokensPerSecond.toFixed(0)}, plain tokens/s ${stats.plainTokensPerSecond?.toFixed(0) ?? "–"}, ` +
        `α ${(100 * stats.acceptance).toFixed(0)}%, DP ${stats.dpSharePct.toFixed(1)}%, speculating ${stats.speculating}`;
}

async function main(): Promise<void> {
    const modelPath = await ensureFixture(FIXTURE);
    console.log(`${FIXTURE} fixture, ${REQUESTS} requests per mode, 1 thread, ${cpuClock ? "CPU" : "wall"} clock`);
    const runs: ModeRun[] = [];
    for (const mode of ["off", "auto", "lookup", "clasp"] as const) {
        const run = await openMode(modelPath, mode);
        if (run) runs.push(run);
        else console.log("(stock binary: no clasp row)");
    }
    try {
        for (const scenario of scenarios) {
            console.log(`\n${scenario.name}`);
            await runScenario(runs, scenario);
            for (const run of runs) console.log(`  ${format(run, runs[0]!)}`);
        }
    } finally {
        for (const run of runs) await run.engine.dispose();
    }
}

await main();
