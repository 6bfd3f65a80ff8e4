// The VSIX as a user gets it (issue 11): `code-server --install-extension` into a fresh extensions
// folder and a fresh user-data folder, SmolLM2 as clasp.model, then in Debian chromium: the
// walkthrough opens on the first run, real ghost text appears in a TypeScript file and Tab accepts
// it, the status bar item says what the engine says (asked over its socket), the settings panel
// opens. Meanwhile every process of the run is watched through /proc: no compiler or other build
// tool runs, the engine opens no internet socket, nothing holds a non-loopback one, and nothing
// is built or downloaded into the installed extension's folder. A VSIX with node-llama-cpp's stock
// binary instead of the patched one must still give ghost text (lookup mode) and say why layer
// skip is off, in the status bar, its tooltip and Why No Suggestion?.
//
// node --import tsx test/e2e/installedVsix.ts --vsix clasp-complete-<v>-linux-x64.vsix [--stock-vsix other.vsix]
// Prints one line per scenario, the time from install to the first ghost text, and "N passed, N failed".
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { launchChromium } from "../../scripts/vscode-test/chromium.ts";
import { exitAfter, runDriver } from "../../scripts/vscode-test/cleanup.ts";
import { describeStop, startCodeServer, teardownProblem } from "../../scripts/vscode-test/codeServer.ts";
import { extensionVersion, probeEngine } from "../../scripts/vscode-test/engineProbe.ts";
import { describeWatch, RunWatch, watchViolations } from "../../scripts/vscode-test/runWatch.ts";
import { requireCachedModel } from "../../src/models/pinnedModels.ts";
import { commandTitle, extensionId } from "./manifest.ts";
import { Scenarios, until } from "./scenarios.ts";
import {
    assertNoSuggestWidget, focusEditorEnd, ghostText, hoverText, openFile, recordTexts, runFromPalette, statusBarItem, waitForGhostText, waitForLineContaining, waitForWorkbench, webviewContent,
} from "./workbench.ts";

const SAMPLE_FILE = "cart.ts";
const SAMPLE_TEXT = "// Shopping cart helpers\nexport function cartTotal(prices: number[]): number {\n    let total = 0;\n    for (const price of prices) {\n";
// Ends in no trigger character: the suggest widget stays closed, so the ghost text is an inline
// completion, and this extension is the only inline provider.
const TYPED = "        total += ";
/** Extension activation, engine start and SmolLM2's load, then the first completion, on 2 busy cores. */
const GHOST_TEXT_TIMEOUT_MS = 180_000;
const WALKTHROUGH_TITLE = "Get Started with CLaSp Complete";

type Kind = "patched" | "stock";

interface Timing {
    kind: Kind;
    installMs: number;
    firstGhostMs?: number;
}

async function main(): Promise<number> {
    const started = Date.now();
    exitAfter(14 * 60_000, "installed-VSIX run");
    const { values } = parseArgs({ options: { vsix: { type: "string" }, "stock-vsix": { type: "string" } } });
    if (!values.vsix) throw new Error("usage: installedVsix.ts --vsix FILE [--stock-vsix FILE]");
    const model = requireCachedModel("smollm2");
    const scenarios = new Scenarios("vsix");
    await scenarios.run("control: the process watch catches a build tool, an engine's internet socket and a non-loopback socket", watchCatchesViolations);
    const timings: Timing[] = [];
    timings.push(await runInstalled("patched", path.resolve(values.vsix), model, scenarios));
    if (values["stock-vsix"]) timings.push(await runInstalled("stock", path.resolve(values["stock-vsix"]), model, scenarios));
    for (const timing of timings) {
        const ghost = timing.firstGhostMs === undefined ? "no ghost text" : `${(timing.firstGhostMs / 1000).toFixed(1)} s`;
        console.log(`install to first ghost text (${timing.kind} VSIX): ${ghost} (the install itself ${(timing.installMs / 1000).toFixed(1)} s)`);
    }
    return scenarios.finish(started);
}

async function runInstalled(kind: Kind, vsix: string, model: string, scenarios: Scenarios): Promise<Timing> {
    const label = (name: string) => `[${kind} VSIX] ${name}`;
    const shotName = (name: string) => `${kind}-${name}`;
    console.log(`${kind} VSIX: ${vsix} (${(statSync(vsix).size / 1024 / 1024).toFixed(1)} MiB)`);
    const installStarted = Date.now();
    const server = await startCodeServer({
        installExtensions: [vsix],
        machineSettings: { "clasp.model": model },
        // Without the patched binary the engine can draft only by prompt lookup.
        userSettings: kind === "stock" ? { "clasp.speculation.mode": "lookup" } : {},
        workspaceFiles: { [SAMPLE_FILE]: SAMPLE_TEXT },
    });
    const timing: Timing = { kind, installMs: Date.now() - installStarted };
    // Before any window connects, so the watch sees every process the extension starts.
    const watch = new RunWatch(server.engineDir).start();
    const extensionDir = installedExtensionDir(server.extensionsDir);
    const version = extensionVersion(extensionDir);
    const filesBefore = listFiles(extensionDir);
    console.log(`  installed ${path.basename(extensionDir)} (${filesBefore.size} files) in ${(timing.installMs / 1000).toFixed(1)} s`);

    const browser = await launchChromium();
    const page = browser.page;
    try {
        // Every state the status bar item goes through, from its first.
        const statusTexts = await recordTexts(page, `[id="${extensionId()}.clasp.status"]`);
        await page.goto(server.workbenchUrl());
        await scenarios.run(label("the workbench loads with the extension installed, not under development"), async () => {
            await waitForWorkbench(page);
            const title = (await page.title()) ?? "";
            if (title.includes("Extension Development Host")) throw new Error(`the window is a development host: ${title}`);
        }, page);

        await scenarios.run(label("the walkthrough opens by itself on the first run"), async () => {
            await page.locator(".editor-group-container").getByText(WALKTHROUGH_TITLE).first().waitFor({ state: "visible", timeout: 90_000 });
            await scenarios.shoot(page, shotName("walkthrough"));
        }, page);

        await scenarios.run(label("real ghost text from SmolLM2 in a TypeScript file, and Tab accepts it"), async () => {
            await openFile(page, SAMPLE_FILE);
            await focusEditorEnd(page);
            await page.keyboard.type(TYPED, { delay: 30 });
            const ghost = await waitForGhostText(page, GHOST_TEXT_TIMEOUT_MS);
            timing.firstGhostMs = Date.now() - installStarted;
            await assertNoSuggestWidget(page);
            console.log(`  ghost text: ${JSON.stringify(ghost)}`);
            await scenarios.shoot(page, shotName("ghost-text"));
            const shown = await ghostText(page);
            await page.keyboard.press("Tab");
            await waitForLineContaining(page, TYPED + shown.inline);
            const firstBelow = shown.below.split("\n")[0]!.trim();
            if (firstBelow !== "") await waitForLineContaining(page, firstBelow);
            await scenarios.shoot(page, shotName("accepted"));
        }, page);

        await scenarios.run(label("the status bar item reads the engine's state"), async () => {
            const item = statusBarItem(page, extensionId(), "clasp.status");
            await item.waitFor({ state: "visible", timeout: 30_000 });
            const welcome = await until("the engine to answer on its socket", () => probeEngine(server.engineDir, version), 30_000);
            const engineModel = welcome.status.model;
            if (welcome.status.state !== "ready" || !engineModel) throw new Error(`the engine (pid ${welcome.pid}) is ${welcome.status.state} with ${engineModel?.path ?? "no model"}`);
            if (engineModel.path !== model) throw new Error(`the engine loaded ${engineModel.path}, not the clasp.model setting ${model}`);
            if (engineModel.patchedBuild !== (kind === "patched"))
                throw new Error(`the engine reports patchedBuild ${engineModel.patchedBuild} for the ${kind} VSIX`);
            const text = await until("the status bar to say ready", async () => {
                const current = ((await item.textContent()) ?? "").trim();
                return /\bready\b/.test(current) ? current : undefined;
            }, 30_000);
            // Before the engine answers, the item says it is starting: not "stopped" (the item's
            // own default, which the window showed for the seconds the engine took to start).
            const history = await statusTexts();
            console.log(`  status bar went through ${JSON.stringify(history.slice(0, 4))}${history.length > 4 ? ` and ${history.length - 4} more` : ""}`);
            if (!/\bstarting\b/.test(history[0] ?? "")) throw new Error(`the status bar's first state was ${JSON.stringify(history[0])}, not "starting": ${JSON.stringify(history.slice(0, 6))}`);
            const noLayerSkip = text.includes("no layer skip");
            if (noLayerSkip !== (kind === "stock")) throw new Error(`status bar ${JSON.stringify(text)} ${noLayerSkip ? "says" : "does not say"} "no layer skip" for the ${kind} VSIX`);
            const tooltip = await hoverText(page, item, "CLaSp Complete");
            const expectedLines = [`Model: ${engineModel.name} (${engineModel.architecture}, ${engineModel.layers} layers`, "Backend: CPU"];
            if (kind === "stock") expectedLines.push("Layer skip is unavailable", "plain and lookup decoding", "Build Accelerated Backend", "Mode: lookup");
            const missing = expectedLines.filter((line) => !tooltip.includes(line));
            if (missing.length > 0) throw new Error(`the tooltip lacks ${JSON.stringify(missing)}: ${JSON.stringify(tooltip)}`);
            console.log(`  engine pid ${welcome.pid}: ${welcome.status.state}, ${engineModel.name}, patched build ${engineModel.patchedBuild}; status bar ${JSON.stringify(text)}`);
            await scenarios.shoot(page, shotName("status-bar-tooltip"));
            await page.mouse.move(0, 0);
        }, page);

        if (kind === "stock") {
            await scenarios.run(label("Why No Suggestion? says layer skip is unavailable and why"), async () => {
                await runFromPalette(page, commandTitle("clasp.whyNoSuggestion"));
                const row = page.locator(".quick-input-list .monaco-list-row", { hasText: "Layer skip is unavailable in this install" }).first();
                await row.waitFor({ state: "visible", timeout: 20_000 });
                const text = await row.innerText();
                if (!text.includes("no CLaSp-patched llama.cpp")) throw new Error(`the row does not say why: ${JSON.stringify(text)}`);
                await scenarios.shoot(page, shotName("why-no-suggestion"));
                await page.keyboard.press("Escape");
            }, page);
        }

        await scenarios.run(label("the settings panel opens"), async () => {
            await runFromPalette(page, commandTitle("clasp.openSettings"));
            await webviewContent(page).locator("input#skipRatio").waitFor({ state: "visible", timeout: 30_000 });
            await scenarios.shoot(page, shotName("settings-panel"));
        }, page);
    } finally {
        await browser.close();
    }

    const report = watch.stop();
    console.log(`  watch: ${describeWatch(report)}`);
    const violations = watchViolations(report);
    scenarios.record(label("no compiler or build tool ran, the engine opened no internet socket, no socket left loopback"), violations.length > 0 ? violations.join("\n") : undefined);
    const changed = changedFiles(filesBefore, listFiles(extensionDir));
    scenarios.record(label("nothing was built or downloaded into the installed extension's folder"),
        changed.length > 0 ? `changed: ${changed.slice(0, 20).join(", ")}${changed.length > 20 ? ` and ${changed.length - 20} more` : ""}` : undefined);

    const stopped = await server.stop({ keep: scenarios.failed > 0 });
    console.log(`  ${describeStop(stopped)}`);
    scenarios.record(label("teardown stops the run's own engine and leaves no process"), teardownProblem(stopped, server.engineDir));
    return timing;
}

/**
 * The watch must see what it is there to see, or its "0 build tools, 0 sockets" means nothing:
 * a fake engine (the run's CLASP_ENGINE_DIR, `--dir` it) listening on every interface, and a
 * child that calls itself cmake, must both be reported.
 */
async function watchCatchesViolations(): Promise<void> {
    const dir = mkdtempSync(path.join(os.tmpdir(), "clasp-watch-control-"));
    const script = [
        "const net = require('node:net'); const { spawn } = require('node:child_process');",
        "net.createServer().listen(0, '0.0.0.0', () => {",
        "  spawn('sleep', ['30'], { argv0: 'cmake', stdio: 'ignore' });",
        "  console.log('ready');",
        "});",
    ].join("\n");
    const fake = spawn(process.execPath, ["-e", script, "--", "--dir", dir], {
        env: { ...process.env, CLASP_ENGINE_DIR: dir, NODE_OPTIONS: "" },
        stdio: ["ignore", "pipe", "inherit"],
        detached: true,
    });
    try {
        await new Promise<void>((resolve, reject) => {
            fake.stdout.once("data", () => resolve());
            fake.once("exit", (code) => reject(new Error(`the fake engine exited with ${code}`)));
        });
        const watch = new RunWatch(dir).start();
        const report = await until("the watch to see the cmake child", () => {
            const seen = watch.peek();
            return seen.buildTools.length > 0 ? seen : undefined;
        }, 10_000);
        watch.stop();
        const problems = watchViolations(report);
        const expected = [/a build tool ran: .*cmake/, /the engine \(pid \d+\) opened an internet socket: tcp 0\.0\.0\.0:\d+/, /non-loopback socket: tcp 0\.0\.0\.0:\d+/];
        const missed = expected.filter((pattern) => !problems.some((problem) => pattern.test(problem)));
        if (missed.length > 0) throw new Error(`the watch missed ${missed.join(", ")}; it reported ${JSON.stringify(problems)}`);
    } finally {
        try {
            process.kill(-fake.pid!, "SIGKILL");
        } catch {
            // Already gone.
        }
        rmSync(dir, { recursive: true, force: true });
    }
}

function installedExtensionDir(extensionsDir: string): string {
    const prefix = `${extensionId()}-`;
    const found = readdirSync(extensionsDir).filter((name) => name.startsWith(prefix));
    if (found.length !== 1) throw new Error(`expected one ${prefix}* folder in ${extensionsDir}, found ${JSON.stringify(readdirSync(extensionsDir))}`);
    return path.join(extensionsDir, found[0]!);
}

/** Relative path -> size and mtime, for every file under `dir`. */
function listFiles(dir: string): Map<string, string> {
    const files = new Map<string, string>();
    for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
        if (!entry.isFile()) continue;
        const full = path.join(entry.parentPath, entry.name);
        const stat = statSync(full);
        files.set(path.relative(dir, full), `${stat.size} ${stat.mtimeMs}`);
    }
    return files;
}

function changedFiles(before: Map<string, string>, after: Map<string, string>): string[] {
    const changed: string[] = [];
    for (const [file, meta] of after) if (before.get(file) !== meta) changed.push(before.has(file) ? `${file} (modified)` : `${file} (new)`);
    for (const file of before.keys()) if (!after.has(file)) changed.push(`${file} (removed)`);
    return changed;
}

runDriver(main);
