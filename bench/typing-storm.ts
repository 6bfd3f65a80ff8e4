// `node --import tsx bench/typing-storm.ts [--keystrokes N] [--clients N] [--model PATH] [--json FILE]`
// Several windows typing at once against one shared engine, then the same storm against one engine
// per window: latency from the last keystroke of a burst to its completion, served vs cancelled
// requests, and engine memory before and after. Every keystroke cancels that window's request in
// flight and sends a new one (no debounce: harsher than the editor, which skips most keystrokes);
// after a burst the window waits for its ghost text (at most `answerWaitMs`), reads a moment, and
// types on. Afterwards the shared engine is SIGKILLed mid-completion and the time until every
// window has a completion again is measured. Engines run the bundle (dist/engine.mjs, as
// installed) when it is built, else the sources through tsx (slower to start).
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { SharedEngine } from "../src/client/sharedEngine.ts";
import { idleReclaimQuietMs } from "../src/engine/service/idleReclaim.ts";
import { mulberry32 } from "../src/fixtures/prng.ts";
import { requireCachedModel } from "../src/models/pinnedModels.ts";
import { describeMachine } from "./report.ts";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const bundle = path.join(repoRoot, "dist/engine.mjs");
const engineEntry = existsSync(bundle)
    ? { enginePath: bundle, execArgv: [] }
    : { enginePath: path.join(repoRoot, "src/engine/main.ts"), execArgv: ["--import", "tsx"] };
const version = "storm";
/** Keystroke gaps inside a burst, and the pause after it (reading, thinking). */
const keyGapMs = { min: 20, max: 60 };
const burstKeys = { min: 5, max: 30 };
/** Reading the ghost text (or the code) before typing on. */
const pauseMs = { min: 200, max: 800 };
/** A window waits this long for the ghost text of its burst before it types on regardless. */
const answerWaitMs = 10_000;
const completion = { maxTokens: 24, timeoutMs: 1500 };
const rssSampleMs = 1000;
/** "Settled" RSS is read this long after the last answer: the engine has reclaimed by then. */
const settleMs = idleReclaimQuietMs + 1000;

interface ClientStats {
    served: number;
    cancelled: number;
    errors: number;
    bursts: number;
    /** Bursts whose last keystroke's request failed or took longer than `answerWaitMs`. */
    unanswered: number;
    latenciesMs: number[];
}

interface StormResult {
    label: string;
    engines: number;
    rssBeforeMB: number;
    /** Engine RSS halfway through the storm's wall time: growth after it is what a leak would show. */
    rssMidMB: number;
    rssAfterMB: number;
    /** Before and after, each read once the engine has been quiet for `settleMs`. */
    rssBeforeSettledMB: number;
    rssAfterSettledMB: number;
    /** Engine RSS every `rssSampleMs` through the storm, to see whether it levels off. */
    rssTimeline: { atS: number; mb: number }[];
    peakMB: number;
    wallS: number;
    clients: ClientStats[];
}

function usage(): never {
    console.error("usage: node --import tsx bench/typing-storm.ts [--keystrokes N] [--clients N] [--model PATH] [--json FILE]");
    process.exit(2);
}

const { values } = parseArgs({
    options: {
        keystrokes: { type: "string", default: "1000" },
        clients: { type: "string", default: "3" },
        model: { type: "string" },
        json: { type: "string" },
        help: { type: "boolean", default: false },
    },
});
if (values.help) usage();
const keystrokes = Number(values.keystrokes);
const clientCount = Number(values.clients);
if (!Number.isInteger(keystrokes) || keystrokes < 1 || !Number.isInteger(clientCount) || clientCount < 1) usage();
// SmolLM2 as `npm run models` cached it (that throws, naming the command, when it did not).
const modelPath = values.model ? path.resolve(values.model) : requireCachedModel("smollm2");

/** The text each window types: a different source file of this repository per window. */
function sourceTexts(count: number): string[] {
    const dir = path.join(repoRoot, "src/completion");
    const files = readdirSync(dir).filter((file) => file.endsWith(".ts")).sort();
    return Array.from({ length: count }, (_, i) => readFileSync(path.join(dir, files[i % files.length]!), "utf8"));
}

function rssMB(pid: number, field: "VmRSS" | "VmHWM"): number {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
    return kb / 1024;
}

function percentile(sorted: number[], p: number): number {
    if (sorted.length === 0) return NaN;
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function openWindows(count: number, dirs: string[]): SharedEngine[] {
    return Array.from({ length: count }, (_, i) => new SharedEngine({
        ...engineEntry,
        version,
        clientName: `storm window ${i + 1}`,
        log: () => undefined,
        idleExitMs: 2000,
        dir: dirs[i % dirs.length]!,
    }));
}

/** One window typing `keystrokes` characters of `text` in bursts; one request in flight at most. */
async function type(engine: SharedEngine, text: string, seed: number): Promise<ClientStats> {
    const random = mulberry32(seed);
    const between = (range: { min: number; max: number }) => range.min + random() * (range.max - range.min);
    const stats: ClientStats = { served: 0, cancelled: 0, errors: 0, bursts: 0, unanswered: 0, latenciesMs: [] };
    // Starts mid-file, so the prompt has context from the first keystroke.
    let position = Math.min(400, Math.floor(text.length / 4));
    let inFlight: AbortController | undefined;
    const pending: Promise<void>[] = [];
    let typed = 0;
    while (typed < keystrokes) {
        const keys = Math.min(keystrokes - typed, Math.round(between(burstKeys)));
        stats.bursts++;
        for (let k = 0; k < keys; k++) {
            inFlight?.abort();
            const controller = new AbortController();
            inFlight = controller;
            position = position + 1 >= text.length ? Math.floor(text.length / 4) : position + 1;
            const pressedAt = performance.now();
            const last = k === keys - 1;
            const answered = engine.request("complete", { prefix: text.slice(0, position), suffix: "", ...completion }, { signal: controller.signal }).then(
                () => {
                    stats.served++;
                    return performance.now() - pressedAt;
                },
                (error: Error & { code?: string }) => {
                    if (error.code === "CANCELLED") stats.cancelled++;
                    else stats.errors++;
                    return undefined;
                },
            );
            pending.push(answered.then(() => undefined));
            typed++;
            if (!last) {
                await sleep(between(keyGapMs));
                continue;
            }
            const latency = await Promise.race([answered, sleep(answerWaitMs).then(() => undefined)]);
            if (latency === undefined) stats.unanswered++;
            else stats.latenciesMs.push(latency);
        }
        await sleep(between(pauseMs));
    }
    await Promise.all(pending);
    return stats;
}

async function storm(label: string, dirs: string[]): Promise<StormResult> {
    const windows = openWindows(clientCount, dirs);
    try {
        await Promise.all(windows.map((engine) => engine.request("load", { modelPath })));
        const pids = [...new Set(windows.map((engine) => engine.pid!))];
        const texts = sourceTexts(clientCount);
        // Completions like the storm's first, on the whole file each window will type and on its
        // first half, so "before" includes a context warmed at the storm's prompt sizes and modes
        // (compute buffers, every window's KV cells, the draft and DP buffers, the JS heap's
        // working size): what grows after that is what the storm leaves behind.
        for (const share of [1, 0.5])
            await Promise.all(windows.map((engine, i) => engine.request("complete", { prefix: texts[i]!.slice(0, Math.floor(texts[i]!.length * share)), suffix: "", ...completion, timeoutMs: 30_000 })));
        const rssNow = () => pids.reduce((sum, pid) => sum + rssMB(pid, "VmRSS"), 0);
        const rssBeforeMB = rssNow();
        await sleep(settleMs);
        const rssBeforeSettledMB = rssNow();
        const started = performance.now();
        const rssTimeline: { atS: number; mb: number }[] = [];
        const sampler = setInterval(() => rssTimeline.push({ atS: Math.round((performance.now() - started) / 100) / 10, mb: Math.round(rssNow()) }), rssSampleMs);
        const clients = await Promise.all(windows.map((engine, i) => type(engine, texts[i]!, 1000 + i))).finally(() => clearInterval(sampler));
        const wallS = (performance.now() - started) / 1000;
        const rssAfterMB = rssNow();
        const rssMidMB = rssTimeline.find((sample) => sample.atS >= wallS / 2)?.mb ?? rssBeforeMB;
        const peakMB = pids.reduce((sum, pid) => sum + rssMB(pid, "VmHWM"), 0);
        await sleep(settleMs);
        const rssAfterSettledMB = rssNow();
        return { label, engines: pids.length, rssBeforeMB, rssMidMB, rssAfterMB, rssBeforeSettledMB, rssAfterSettledMB, rssTimeline, peakMB, wallS, clients };
    } finally {
        for (const engine of windows) engine.dispose();
    }
}

/** SIGKILL of the shared engine mid-completion: ms until every window has a completion again. */
async function recovery(dir: string): Promise<{ killToAllServedMs: number; restartToAllServedMs: number }> {
    const windows = openWindows(clientCount, [dir]);
    try {
        await Promise.all(windows.map((engine) => engine.request("load", { modelPath })));
        const pid = windows[0]!.pid!;
        const inFlight = windows.map((engine) => engine.request("complete", { prefix: "function main() {\n", suffix: "", maxTokens: 400, timeoutMs: 60_000 }).catch(() => undefined));
        await sleep(100);
        const killedAt = performance.now();
        process.kill(pid, "SIGKILL");
        await Promise.all(inFlight);
        let restartedAt = 0;
        await Promise.all(windows.map(async (engine) => {
            // A window asks again the way a keystroke would: as soon as it is ready.
            for (;;) {
                if (engine.state === "ready" && engine.pid !== pid) {
                    restartedAt ||= performance.now();
                    try {
                        await engine.request("complete", { prefix: "const total = ", suffix: "", maxTokens: 8 });
                        return;
                    } catch {
                        // Not quite back yet.
                    }
                }
                await sleep(10);
            }
        }));
        const now = performance.now();
        return { killToAllServedMs: now - killedAt, restartToAllServedMs: now - restartedAt };
    } finally {
        for (const engine of windows) engine.dispose();
    }
}

function row(result: StormResult): string {
    const all = result.clients;
    const sum = (pick: (stats: ClientStats) => number) => all.reduce((total, stats) => total + pick(stats), 0);
    const latencies = all.flatMap((stats) => stats.latenciesMs).sort((a, b) => a - b);
    const growth = ((result.rssAfterMB - result.rssBeforeMB) / result.rssBeforeMB) * 100;
    const secondHalf = ((result.rssAfterMB - result.rssMidMB) / result.rssMidMB) * 100;
    const settledGrowth = ((result.rssAfterSettledMB - result.rssBeforeSettledMB) / result.rssBeforeSettledMB) * 100;
    return `| ${result.label} | ${result.engines} | ${result.rssBeforeMB.toFixed(0)} | ${result.rssMidMB.toFixed(0)} | ${result.rssAfterMB.toFixed(0)} | ${growth.toFixed(1)} % | ${secondHalf.toFixed(1)} % | ` +
        `${result.rssBeforeSettledMB.toFixed(0)} → ${result.rssAfterSettledMB.toFixed(0)} (${settledGrowth.toFixed(1)} %) | ${(result.rssAfterSettledMB / clientCount).toFixed(0)} | ` +
        `${sum((s) => s.served)} | ${sum((s) => s.cancelled)} | ${sum((s) => s.errors)} | ${sum((s) => s.bursts)} | ${sum((s) => s.unanswered)} | ` +
        `${percentile(latencies, 50).toFixed(0)} | ${percentile(latencies, 95).toFixed(0)} | ${result.wallS.toFixed(0)} |`;
}

async function main(): Promise<void> {
    const base = mkdtempSync(path.join(os.tmpdir(), "clasp-storm-"));
    try {
        const machine = describeMachine("cpu (engine default)", 0);
        console.log(`Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, load average ${os.loadavg()[0]!.toFixed(1)}, Node ${machine.node}.`);
        console.log(`Model: ${modelPath}; engine ${path.relative(repoRoot, engineEntry.enginePath)}. ${clientCount} windows × ${keystrokes} keystrokes, bursts of ${burstKeys.min}–${burstKeys.max} keys ` +
            `${keyGapMs.min}–${keyGapMs.max} ms apart; every keystroke cancels and re-asks (max ${completion.maxTokens} tokens); after a burst, its ghost text, then ${pauseMs.min}–${pauseMs.max} ms reading.`);
        const shared = await storm("one shared engine", [path.join(base, "shared")]);
        const separate = await storm("one engine per window", Array.from({ length: clientCount }, (_, i) => path.join(base, `own-${i}`)));
        const recovered = await recovery(path.join(base, "recovery"));
        console.log("");
        console.log("| engines | processes | RSS before MB | RSS mid MB | RSS after MB | growth | growth, 2nd half | settled RSS before → after MB | MB per window (settled) | served | cancelled | errors | bursts | unanswered bursts | p50 ms | p95 ms | wall s |");
        console.log("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        console.log(row(shared));
        console.log(row(separate));
        console.log("");
        console.log(`Before/after: read at once (before: after the warm-up completions; after: at the last answer). Settled: the same, ${settleMs / 1000} s later, once the engine has reclaimed idle memory.`);
        console.log(`p50/p95: from the last keystroke of a burst to its completion. Peak RSS: shared ${shared.peakMB.toFixed(0)} MB, separate ${separate.peakMB.toFixed(0)} MB in total.`);
        console.log(`SIGKILL of the shared engine mid-completion: every window had a completion again ${recovered.killToAllServedMs.toFixed(0)} ms after the kill, ` +
            `${recovered.restartToAllServedMs.toFixed(0)} ms after the first window saw the new engine ready.`);
        if (values.json) writeFileSync(values.json, JSON.stringify({ machine, modelPath, keystrokes, clients: clientCount, shared, separate, recovery: recovered }, null, 2));
    } finally {
        // The engines exit at their next watchdog check once their files are gone.
        rmSync(base, { recursive: true, force: true });
    }
}

await main();
