// Starts the engine service as a detached process, so it outlives the window that started it and
// serves the others. Its output goes to the log file beside its socket (kept short: restarted
// engines truncate an oversized one).
import { spawn } from "node:child_process";
import { closeSync, openSync, statSync, truncateSync } from "node:fs";
import { ensurePrivateDir, type ServiceLocation } from "../engine/service/location.ts";

export interface SpawnOptions {
    /** dist/engine.mjs, or src/engine/main.ts with a loader in execArgv. */
    enginePath: string;
    execArgv?: string[];
    version: string;
    key: string;
    idleExitMs: number;
}

const maxLogBytes = 1024 * 1024;

export function spawnEngine(location: ServiceLocation, options: SpawnOptions): number | undefined {
    ensurePrivateDir(location.dir);
    try {
        if (statSync(location.log).size > maxLogBytes) truncateSync(location.log, 0);
    } catch {
        // No log yet.
    }
    const logFd = openSync(location.log, "a", 0o600);
    try {
        const child = spawn(
            process.execPath,
            [
                ...(options.execArgv ?? []),
                options.enginePath,
                "--dir", location.dir,
                "--version", options.version,
                "--key", options.key,
                "--idle-exit-ms", String(options.idleExitMs),
            ],
            {
                detached: true,
                stdio: ["ignore", logFd, logFd],
                // Inside VS Code, execPath is Electron; this makes it behave as plain Node.
                env: { ...process.env, ELECTRON_RUN_AS_NODE: "1" },
                windowsHide: true,
            },
        );
        child.unref();
        return child.pid;
    } finally {
        closeSync(logFd);
    }
}
