// The two files that make the engine's identity checkable: a lock naming the engine's process
// (so a crashed engine's files are recognised as stale and replaced, and a newer engine can tell
// an older one it was replaced), and a random token only this user can read (a client proves
// it is this user by quoting it).
import { randomBytes, timingSafeEqual } from "node:crypto";
import { closeSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import os from "node:os";

/** Another live engine holds the lock: this process is not needed. */
export class EngineAlreadyRunning extends Error {
    constructor(readonly pid: number) {
        super(`another engine (pid ${pid}) already serves this socket`);
        this.name = "EngineAlreadyRunning";
    }
}

/** A lock file younger than this with no pid yet belongs to an engine that is starting. */
const lockWriteGraceMs = 2000;

export function isProcessAlive(pid: number): boolean {
    if (!Number.isSafeInteger(pid) || pid <= 0) return false;
    try {
        process.kill(pid, 0);
        return true;
    } catch (error) {
        // EPERM: it exists but is not ours; in a private directory that still means "not stale".
        return (error as NodeJS.ErrnoException).code === "EPERM";
    }
}

/** The pid in a lock file; undefined when there is none (or not yet). */
export function readLockPid(file: string): number | undefined {
    try {
        const pid = Number(readFileSync(file, "utf8").trim());
        return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
        return undefined;
    }
}

/**
 * Takes the lock for this process, replacing a stale one (its process is dead). Throws
 * EngineAlreadyRunning when a live engine holds it. Two engines that both replace the same stale
 * lock at once can both believe they won; the loser finds out from `ownsLock` within a watchdog
 * period and exits.
 */
export function acquireLock(file: string, log: (line: string) => void): void {
    for (let attempt = 0; attempt < 3; attempt++) {
        try {
            const fd = openSync(file, "wx", 0o600);
            writeSync(fd, String(process.pid));
            closeSync(fd);
            return;
        } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        }
        const holder = readLockPid(file);
        if (holder === undefined && Date.now() - mtimeMs(file) < lockWriteGraceMs) throw new EngineAlreadyRunning(0);
        if (holder !== undefined && holder !== process.pid && isProcessAlive(holder)) throw new EngineAlreadyRunning(holder);
        log(`replacing the stale lock ${file} (engine ${holder ?? "?"} is gone)`);
        removeFile(file);
    }
    throw new Error(`could not take the engine lock ${file}`);
}

export function ownsLock(file: string): boolean {
    return readLockPid(file) === process.pid;
}

/** Writes a fresh random token readable only by this user; the rename makes it appear whole. */
export function writeToken(file: string): string {
    const token = randomBytes(32).toString("hex");
    const temporary = `${file}.${process.pid}.tmp`;
    removeFile(temporary);
    const fd = openSync(temporary, "wx", 0o600);
    writeSync(fd, token);
    closeSync(fd);
    renameSync(temporary, file);
    return token;
}

/**
 * The token, if the file exists and nobody else could have written or read it (owned by this
 * user, no group or other permissions).
 */
export function readToken(file: string): string | undefined {
    try {
        const stat = statSync(file);
        if (process.platform !== "win32" && (stat.uid !== os.userInfo().uid || (stat.mode & 0o077) !== 0)) return undefined;
        return readFileSync(file, "utf8").trim() || undefined;
    } catch {
        return undefined;
    }
}

export function tokensMatch(given: string, expected: string): boolean {
    const a = Buffer.from(given);
    const b = Buffer.from(expected);
    return a.length === b.length && timingSafeEqual(a, b);
}

export function removeFile(file: string): void {
    try {
        unlinkSync(file);
    } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
}

function mtimeMs(file: string): number {
    try {
        return statSync(file).mtimeMs;
    } catch {
        return 0;
    }
}
