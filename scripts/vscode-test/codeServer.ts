// Starts a throwaway code-server (a real VS Code 1.139 server) on a free loopback port, with every
// piece of state (settings, extensions, logs, IPC sockets, temp files, the engine service's
// directory) inside one fresh run folder. The extension's engine runs detached (its own session,
// outside code-server's process group) and is shared through CLASP_ENGINE_DIR, so each run points
// that at its own folder and stops, at the end, every process that carries it.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { onCleanup } from "./cleanup.ts";
import { findFreePort } from "./freePort.ts";
import { jsonText, writeTree } from "./writeTree.ts";
import { assertCodeServerInstalled, CODE_SERVER_ENTRY, NODE24_BIN } from "./paths.ts";
import { engineProcesses, killAndWait, processesWithEnv, processInfo, type ProcessInfo } from "./processes.ts";

/** The variable the extension reads for its engine service directory (src/engine/service/location.ts). */
export const ENGINE_DIR_ENV = "CLASP_ENGINE_DIR";

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
    /** More workspace folders beside `workspace`, by folder name, with their files. */
    extraFolders?: Record<string, Record<string, string>>;
    /** VSIX files to install (`--install-extension`) into this run's extensions folder before the server starts. */
    installExtensions?: string[];
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
    /** The folders of `extraFolders`, by name. */
    folders: Record<string, string>;
    /** `--extensions-dir`: where installed extensions are unpacked. */
    extensionsDir: string;
    /** This run's engine service directory (CLASP_ENGINE_DIR of the server and all it starts). */
    engineDir: string;
    /** Output of the `--install-extension` runs. */
    installLog: string;
    /** The settings files VS Code writes: user settings and the workspace's .vscode/settings.json. */
    settingsFiles: { user: string; workspace: string };
    logFile: string;
    /** `vscode-remote://127.0.0.1:<port><abs path>`: how the web workbench names server files. */
    remoteUri(absolutePath: string): string;
    /** URL that opens `folder` (default: the workspace), with development options when `payload` is given. */
    workbenchUrl(payload?: [string, string][], folder?: string): string;
    /** Engine processes of this run (started with `--dir <engineDir>`), now. */
    engines(): ProcessInfo[];
    /** Every process of this run (code-server, extension hosts, engines, their children), now. */
    processes(): ProcessInfo[];
    /** Stops code-server's group, then every other process of the run (the detached engines). */
    stop(options?: { keep?: boolean }): Promise<StopReport>;
}

export interface StopReport {
    /** Processes of the run that outlived code-server's group and were stopped here (engines). */
    stoppedAfterServer: ProcessInfo[];
    /** Processes of the run still alive after SIGKILL: a teardown failure. */
    leftover: ProcessInfo[];
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
    // The UI tests read inline ghost text. The suggest widget (TypeScript's completions open on
    // "/", " " and as-you-type words) can cover it or preview its own item as ghost text, which made
    // a CI run fail at random; the suggest widget is VS Code's, not this extension's, so it is off.
    "editor.quickSuggestions": { other: "off", comments: "off", strings: "off" },
    "editor.suggestOnTriggerCharacters": false,
};

export async function startCodeServer(options: CodeServerOptions = {}): Promise<CodeServer> {
    assertCodeServerInstalled();
    const port = await findFreePort();
    const base = `http://127.0.0.1:${port}`;
    const dir = mkdtempSync(path.join(os.tmpdir(), "clasp-vscode-"));
    const workspace = path.join(dir, "workspace");
    const logFile = path.join(dir, "server.log");
    const extensionsDir = path.join(dir, "ext");
    const userDataDir = path.join(dir, "ud");
    // Short (a unix socket path must stay under ~100 bytes) and private, as the extension wants it.
    const engineDir = path.join(dir, "engine");
    for (const sub of ["ext", "xdg", "temp", "workspace", "engine"]) mkdirSync(path.join(dir, sub), { recursive: true });
    chmodSync(engineDir, 0o700);
    const folders: Record<string, string> = {};
    for (const [name, files] of Object.entries(options.extraFolders ?? {})) {
        folders[name] = path.join(dir, name);
        mkdirSync(folders[name], { recursive: true });
        writeTree(folders[name], files);
    }
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
        // Last, so no caller can point a test run at the user's own shared engine.
        [ENGINE_DIR_ENV]: engineDir,
    };
    // The driver itself may run under tsx; that loader must not leak into code-server's Node 24.
    delete env.NODE_OPTIONS;
    const runProcesses = () => processesWithEnv(ENGINE_DIR_ENV, engineDir);

    let installLog = "";
    for (const vsix of options.installExtensions ?? []) {
        // The same binary, folders and environment as the server: what `code-server --install-extension` does for a user.
        installLog += execFileSync(
            NODE24_BIN,
            [CODE_SERVER_ENTRY, "--extensions-dir", extensionsDir, "--user-data-dir", userDataDir, "--install-extension", vsix],
            { cwd: workspace, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 120_000 },
        );
    }

    const child = spawn(
        NODE24_BIN,
        [
            CODE_SERVER_ENTRY,
            "--auth", "none",
            "--bind-addr", `127.0.0.1:${port}`,
            "--disable-telemetry",
            "--disable-update-check",
            "--disable-workspace-trust",
            "--extensions-dir", extensionsDir,
            "--user-data-dir", userDataDir,
            // Makes the built workbench honour the URL `payload` (extension development + tests).
            // Only ever on a loopback server with no auth that lives for one test run.
            "--vscode-option", "enable-smoke-test-driver",
        ],
        // Own process group: stopping it also stops the extension hosts (the engine is not in it).
        { cwd: workspace, env, stdio: ["ignore", logFd, logFd], detached: true },
    );
    closeSync(logFd);
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

    let stopped: Promise<StopReport> | undefined;
    const stopOnce = async (keep: boolean): Promise<StopReport> => {
        removeCleanup();
        await killGroup(child, exited);
        // What is left carries the run's CLASP_ENGINE_DIR but sits outside the group: the detached
        // engines (SIGTERM: they remove their socket, token and lock, then exit), and anything else
        // that left the group.
        const outlived = runProcesses().map(processInfo).filter((info): info is ProcessInfo => info !== undefined);
        const stillThere = await killAndWait(outlived.map((info) => info.pid));
        const report: StopReport = {
            stoppedAfterServer: outlived,
            leftover: outlived.filter((info) => stillThere.includes(info.pid)),
        };
        for (const info of report.leftover) console.error(`teardown: pid ${info.pid} (${info.argv.join(" ")}) survived SIGKILL`);
        if (keep || process.env.CLASP_TEST_KEEP === "1") {
            console.error(`code-server run folder kept for diagnosis: ${dir} (log: ${logFile})`);
            return report;
        }
        // Children may still write into TMPDIR for a moment after the group is gone.
        for (let attempt = 0; attempt < 3; attempt++) {
            await sleep(500);
            rmSync(dir, { recursive: true, force: true });
        }
        return report;
    };
    const stop = ({ keep = false } = {}): Promise<StopReport> => (stopped ??= stopOnce(keep));
    const removeCleanup = onCleanup(
        async () => void (await stop()),
        () => {
            killGroupSync(child);
            for (const pid of runProcesses()) signalPid(pid, "SIGKILL");
        },
    );

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
        folders,
        extensionsDir,
        engineDir,
        installLog,
        settingsFiles: { user: path.join(dir, "ud/User/settings.json"), workspace: path.join(workspace, ".vscode/settings.json") },
        logFile,
        remoteUri,
        workbenchUrl(payload, folder = workspace) {
            let url = `${base}/?folder=${encodeURIComponent(folder)}`;
            if (payload) url += `&payload=${encodeURIComponent(JSON.stringify(payload))}`;
            return url;
        },
        engines: () => engineProcesses(engineDir),
        processes: () => runProcesses().map(processInfo).filter((info): info is ProcessInfo => info !== undefined),
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

function signalPid(pid: number, signal: NodeJS.Signals): void {
    try {
        process.kill(pid, signal);
    } catch {
        // Gone.
    }
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

/**
 * What a driver reports about its teardown: an error when a process of the run survived, or when
 * no engine of the run's own CLASP_ENGINE_DIR was stopped (the windows then talked to an engine
 * somewhere else, and the run was not isolated). `engines` is how many the run must have left.
 */
export function teardownProblem(report: StopReport, engineDir: string, engines = 1): string | undefined {
    if (report.leftover.length > 0) return `processes survived the teardown: ${report.leftover.map((info) => `${info.pid} ${info.argv.join(" ")}`).join("; ")}`;
    const stoppedEngines = report.stoppedAfterServer.filter((info) => info.argv.includes(engineDir));
    if (stoppedEngines.length < engines)
        return `expected ${engines} engine(s) of this run (CLASP_ENGINE_DIR=${engineDir}) still running after code-server stopped, found ${stoppedEngines.length}`;
    return undefined;
}

export function describeStop(report: StopReport): string {
    const what = report.stoppedAfterServer.map((info) => `${info.pid} (${info.argv.includes("--dir") ? "engine" : info.name})`).join(", ");
    return `teardown: ${report.stoppedAfterServer.length} process(es) outlived code-server's group and were stopped${what ? `: ${what}` : ""}; ${report.leftover.length} left over`;
}
