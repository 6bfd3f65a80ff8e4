// Starts a throwaway code-server (a real VS Code 1.139 server) on a free loopback port, with every
// piece of state (settings, extensions, logs, IPC sockets, temp files) inside one fresh run folder.
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { onCleanup } from "./cleanup.ts";
import { findFreePort } from "./freePort.ts";
import { jsonText, writeTree } from "./writeTree.ts";
import { assertCodeServerInstalled, CODE_SERVER_ENTRY, NODE24_BIN } from "./paths.ts";

export interface CodeServerOptions {
    /** `<user-data-dir>/User/settings.json`, merged over quiet defaults. */
    userSettings?: Record<string, unknown>;
    /**
     * `<user-data-dir>/Machine/settings.json`. The workbench counts as remote, so machine-scoped
     * settings such as `clasp.model` are read from here, not from the user settings.
     */
    machineSettings?: Record<string, unknown>;
    /** Files to create in the workspace folder, by relative path. */
    workspaceFiles?: Record<string, string>;
    /** Extra variables for the server and so for the extension host it spawns. */
    env?: Record<string, string>;
    startTimeoutMs?: number;
}

export interface CodeServer {
    /** `http://127.0.0.1:<port>` */
    base: string;
    /** The run folder (kept after a failed run for its logs). */
    dir: string;
    workspace: string;
    /** The settings files VS Code writes: user settings and the workspace's .vscode/settings.json. */
    settingsFiles: { user: string; workspace: string };
    logFile: string;
    /** `vscode-remote://127.0.0.1:<port><abs path>`: how the web workbench names server files. */
    remoteUri(absolutePath: string): string;
    /** URL that opens the workspace, with development options when `payload` is given. */
    workbenchUrl(payload?: [string, string][]): string;
    stop(options?: { keep?: boolean }): Promise<void>;
}

/** Keeps screenshots and runs free of welcome pages, chat panels, tips and update checks. */
export const QUIET_USER_SETTINGS = {
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": false,
    "workbench.secondarySideBar.defaultVisibility": "hidden",
    "workbench.enableExperiments": false,
    "chat.disableAIFeatures": true,
    "extensions.autoCheckUpdates": false,
    "extensions.autoUpdate": false,
    "extensions.ignoreRecommendations": true,
    "update.mode": "none",
    "telemetry.telemetryLevel": "off",
    "git.enabled": false,
    "security.workspace.trust.enabled": false,
    "files.hotExit": "off",
};

export async function startCodeServer(options: CodeServerOptions = {}): Promise<CodeServer> {
    assertCodeServerInstalled();
    const port = await findFreePort();
    const base = `http://127.0.0.1:${port}`;
    const dir = mkdtempSync(path.join(os.tmpdir(), "clasp-vscode-"));
    const workspace = path.join(dir, "workspace");
    const logFile = path.join(dir, "server.log");
    for (const sub of ["ext", "xdg", "temp", "workspace"]) mkdirSync(path.join(dir, sub), { recursive: true });
    writeTree(dir, {
        "ud/User/settings.json": jsonText({ ...QUIET_USER_SETTINGS, ...options.userSettings }),
        "ud/Machine/settings.json": jsonText(options.machineSettings ?? {}),
    });
    writeTree(workspace, options.workspaceFiles ?? {});

    const logFd = openSync(logFile, "a");
    const env: NodeJS.ProcessEnv = {
        ...process.env,
        XDG_CONFIG_HOME: path.join(dir, "xdg"),
        XDG_DATA_HOME: path.join(dir, "xdg"),
        TMPDIR: path.join(dir, "temp"),
        // The marketplace (open-vsx.org by default) is queried even with updates off; point it at
        // a closed loopback port so a test run never looks past 127.0.0.1.
        EXTENSIONS_GALLERY: JSON.stringify({
            serviceUrl: "http://127.0.0.1:9/gallery",
            itemUrl: "http://127.0.0.1:9/item",
            extensionUrlTemplate: "http://127.0.0.1:9/{publisher}/{name}",
            resourceUrlTemplate: "http://127.0.0.1:9/{publisher}/{name}/{version}/{path}",
        }),
        ...options.env,
    };
    // The driver itself may run under tsx; that loader must not leak into code-server's Node 24.
    delete env.NODE_OPTIONS;
    const child = spawn(
        NODE24_BIN,
        [
            CODE_SERVER_ENTRY,
            "--auth", "none",
            "--bind-addr", `127.0.0.1:${port}`,
            "--disable-telemetry",
            "--disable-update-check",
            "--disable-workspace-trust",
            "--extensions-dir", path.join(dir, "ext"),
            "--user-data-dir", path.join(dir, "ud"),
            // Makes the built workbench honour the URL `payload` (extension development + tests).
            // Only ever on a loopback server with no auth that lives for one test run.
            "--vscode-option", "enable-smoke-test-driver",
        ],
        // Own process group: stopping it also stops the extension host and the engine it forked.
        { cwd: workspace, env, stdio: ["ignore", logFd, logFd], detached: true },
    );
    closeSync(logFd);
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

    let stopped = false;
    const stop = async ({ keep = false } = {}): Promise<void> => {
        if (stopped) return;
        stopped = true;
        removeCleanup();
        await killGroup(child, exited);
        if (keep || process.env.CLASP_TEST_KEEP === "1") {
            console.error(`code-server run folder kept for diagnosis: ${dir} (log: ${logFile})`);
            return;
        }
        // Children may still write into TMPDIR for a moment after the group is gone.
        for (let attempt = 0; attempt < 3; attempt++) {
            await sleep(500);
            rmSync(dir, { recursive: true, force: true });
        }
    };
    const removeCleanup = onCleanup(() => stop(), () => killGroupSync(child));

    try {
        await waitForHealth(base, child, exited, options.startTimeoutMs ?? 30_000, logFile);
    } catch (error) {
        await stop({ keep: true });
        throw error;
    }

    const remoteUri = (absolutePath: string) => `vscode-remote://127.0.0.1:${port}${absolutePath}`;
    return {
        base,
        dir,
        workspace,
        settingsFiles: { user: path.join(dir, "ud/User/settings.json"), workspace: path.join(workspace, ".vscode/settings.json") },
        logFile,
        remoteUri,
        workbenchUrl(payload) {
            let url = `${base}/?folder=${encodeURIComponent(workspace)}`;
            if (payload) url += `&payload=${encodeURIComponent(JSON.stringify(payload))}`;
            return url;
        },
        stop,
    };
}

async function waitForHealth(base: string, child: ChildProcess, exited: Promise<void>, timeoutMs: number, logFile: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let hasExited = false;
    void exited.then(() => (hasExited = true));
    while (Date.now() < deadline) {
        if (hasExited) throw new Error(`code-server exited with code ${child.exitCode} before it was ready:\n${readLog(logFile)}`);
        try {
            const response = await fetch(`${base}/healthz`);
            if (response.ok) return;
        } catch {
            // Not listening yet.
        }
        await sleep(200);
    }
    throw new Error(`code-server did not answer ${base}/healthz within ${timeoutMs / 1000} s:\n${readLog(logFile)}`);
}

async function killGroup(child: ChildProcess, exited: Promise<void>): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    signalGroup(child.pid, "SIGTERM");
    const gone = await Promise.race([exited.then(() => true), sleep(5_000).then(() => false)]);
    // Stragglers in the group (an engine busy in native code) get no second chance.
    signalGroup(child.pid, "SIGKILL");
    if (!gone) await Promise.race([exited, sleep(2_000)]);
}

function killGroupSync(child: ChildProcess): void {
    if (child.pid !== undefined) signalGroup(child.pid, "SIGKILL");
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
    try {
        process.kill(-pid, signal);
    } catch {
        // The group is already empty.
    }
}

function readLog(logFile: string): string {
    try {
        return readFileSync(logFile, "utf8").slice(-4000);
    } catch {
        return "(no server log)";
    }
}
