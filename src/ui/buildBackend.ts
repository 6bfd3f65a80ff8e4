// "CLaSp: Build Accelerated Backend": builds the CLaSp-patched llama.cpp on the user's machine, with
// their own toolchain, for a platform or GPU backend the VSIX has no patched binary for. Nothing is
// fetched until the user runs it and confirms: npm then fetches the pinned node-llama-cpp (its
// package carries llama.cpp's source as a git bundle) into global storage, the shipped
// native/build.mjs patches and compiles it there, and the finished build folder is copied next to
// the extension's own node-llama-cpp, where the engine's loader looks. Progress shows in a
// notification, every build line goes to the log, and a failure names the step that failed.
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import * as vscode from "vscode";
import type { GpuChoice, ModelInfo } from "../engine/protocol.ts";
import { compileFraction, defaultBuildGpu, missingToolsMessage, type BuildGpu } from "./buildBackendPlan.ts";

export interface BuildBackendDeps {
    extension: vscode.ExtensionContext;
    gpuSetting(): GpuChoice;
    log(line: string): void;
    /** Restarts the engine and resolves with the model it then has loaded. */
    reloadEngine(): Promise<ModelInfo | undefined>;
}

class StepError extends Error {}

/** node-llama-cpp's folder as the engine bundle resolves it (dist/node_modules in the VSIX, node_modules in a checkout). */
function nodeLlamaCppDir(extension: vscode.ExtensionContext): string {
    const entry = createRequire(extension.asAbsolutePath("dist/engine.mjs")).resolve("node-llama-cpp");
    return path.resolve(path.dirname(entry), "..");
}

async function pickGpu(setting: GpuChoice): Promise<BuildGpu | undefined> {
    const preferred = defaultBuildGpu(setting);
    const choices: BuildGpu[] = ["cpu", "cuda", "vulkan", "metal"];
    const picked = await vscode.window.showQuickPick(
        choices.map((gpu) => ({ label: gpu, description: gpu === preferred ? "suggested" : undefined, gpu })).sort((a, b) => Number(b.gpu === preferred) - Number(a.gpu === preferred)),
        { title: "CLaSp: Build the patched llama.cpp for which backend?" },
    );
    return picked?.gpu;
}

/** Runs a command, logging each line; rejects with `step` named when it fails or is cancelled. */
function run(step: string, command: string, args: string[], cwd: string, log: (line: string) => void, token: vscode.CancellationToken, onLine?: (line: string) => void): Promise<void> {
    return new Promise((resolve, reject) => {
        log(`$ ${command} ${args.join(" ")}  (in ${cwd})`);
        // Inside desktop VS Code execPath is Electron: this makes it run scripts as plain Node.
        const child = spawn(command, args, { cwd, env: { ...process.env, ELECTRON_RUN_AS_NODE: "1" }, shell: process.platform === "win32" && command === "npm" });
        const cancel = token.onCancellationRequested(() => child.kill());
        let pending = "";
        const onData = (chunk: Buffer) => {
            const lines = (pending + chunk.toString()).split(/\r?\n/);
            pending = lines.pop() ?? "";
            for (const line of lines) {
                log(line);
                onLine?.(line);
            }
        };
        child.stdout.on("data", onData);
        child.stderr.on("data", onData);
        child.once("error", (error) => reject(new StepError(`${step}: ${error.message}`)));
        child.once("close", (code, signal) => {
            cancel.dispose();
            if (pending) log(pending);
            if (code === 0) resolve();
            else reject(new StepError(token.isCancellationRequested ? `${step}: cancelled` : `${step} failed (exit ${code ?? signal}); the log has its output`));
        });
    });
}

/** Build folders that finished (node-llama-cpp writes buildDone.status last) and hold an addon. */
function finishedBuilds(localBuilds: string): string[] {
    if (!existsSync(localBuilds)) return [];
    return readdirSync(localBuilds).filter((name) =>
        existsSync(path.join(localBuilds, name, "buildDone.status")) && existsSync(path.join(localBuilds, name, "Release", "llama-addon.node")));
}

export async function buildAcceleratedBackend(deps: BuildBackendDeps): Promise<void> {
    const gpu = await pickGpu(deps.gpuSetting());
    if (!gpu) return;
    const missing = missingToolsMessage(gpu);
    if (missing) {
        void vscode.window.showErrorMessage(`CLaSp: ${missing}`, { modal: false });
        return;
    }
    const target = nodeLlamaCppDir(deps.extension);
    const { version } = JSON.parse(readFileSync(path.join(target, "package.json"), "utf8")) as { version: string };
    const confirm = await vscode.window.showInformationMessage(
        `Build the CLaSp-patched llama.cpp for ${gpu.toUpperCase()}? npm fetches node-llama-cpp ${version} (with llama.cpp's source, about 40 MB), ` +
            "then your compiler builds it: 10 to 30 minutes, using several cores.",
        { modal: true },
        "Build",
    );
    if (confirm !== "Build") return;

    const workDir = path.join(deps.extension.globalStorageUri.fsPath, "accelerated-backend");
    const log = (line: string) => deps.log(`[build backend] ${line}`);
    try {
        const model = await vscode.window.withProgress(
            { location: vscode.ProgressLocation.Notification, title: `CLaSp: building the ${gpu.toUpperCase()} backend`, cancellable: true },
            async (progress, token) => {
                let reported = 0;
                const advance = (message: string, to?: number) => {
                    const increment = to === undefined ? undefined : Math.max(0, to - reported);
                    if (to !== undefined) reported = Math.max(reported, to);
                    progress.report({ message, increment });
                };
                // A fresh folder each time: a half-finished earlier attempt must not be picked up.
                rmSync(workDir, { recursive: true, force: true });
                mkdirSync(workDir, { recursive: true });
                writeFileSync(path.join(workDir, "package.json"), JSON.stringify({ name: "clasp-accelerated-backend", private: true, type: "module", dependencies: { "node-llama-cpp": version } }, null, 2));
                cpSync(deps.extension.asAbsolutePath("native"), path.join(workDir, "native"), { recursive: true });

                advance(`fetching node-llama-cpp ${version}`, 2);
                // No install scripts, no optional prebuilt binaries: the build below makes the only binary used.
                await run("fetching node-llama-cpp", "npm", ["install", "--ignore-scripts", "--omit=optional", "--no-audit", "--no-fund"], workDir, log, token);

                advance("patching and compiling llama.cpp", 10);
                await run("building the patched llama.cpp", process.execPath, [path.join(workDir, "native", "build.mjs"), "--gpu", gpu, "--no-verify"], workDir, log, token, (line) => {
                    const fraction = compileFraction(line);
                    if (fraction !== undefined) advance(`compiling (${Math.round(fraction * 100)}%)`, 10 + fraction * 85);
                    else if (line.startsWith("[build:native]")) advance(line.slice("[build:native]".length).trim());
                });

                const built = path.join(workDir, "node_modules", "node-llama-cpp", "llama", "localBuilds");
                const folders = finishedBuilds(built);
                if (folders.length === 0) throw new StepError(`the build finished but left no build folder in ${built}`);
                advance("installing the build", 97);
                for (const name of folders) {
                    const destination = path.join(target, "llama", "localBuilds", name);
                    rmSync(destination, { recursive: true, force: true });
                    cpSync(path.join(built, name, "Release"), path.join(destination, "Release"), { recursive: true });
                    cpSync(path.join(built, name, "buildDone.status"), path.join(destination, "buildDone.status"));
                    log(`installed ${name} into ${destination}`);
                }
                rmSync(workDir, { recursive: true, force: true });
                advance("restarting the engine", 99);
                return deps.reloadEngine();
            },
        );
        if (model?.patchedBuild) void vscode.window.showInformationMessage(`CLaSp: the patched ${gpu.toUpperCase()} backend is loaded; layer skip is available.`);
        else void vscode.window.showWarningMessage("CLaSp: the build finished, but the engine did not load it (see CLaSp: Show Log). Check that CLaSp's backend setting matches what you built.");
    } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        log(`FAILED: ${reason}`);
        void vscode.window.showErrorMessage(`CLaSp: building the accelerated backend failed: ${reason}.`, "Show Log").then((choice) => {
            if (choice) void vscode.commands.executeCommand("clasp.showLog");
        });
    }
}
