// Where the per-user engine service lives: a directory only this user can enter, holding the
// socket (a named pipe on Windows), the token that proves a client is this user, the lock that
// says which process is the engine, and the engine's log. One set of files per extension version
// and engine key, so windows of another version never meet this engine.
import { chmodSync, lstatSync, mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";

/** The engine every window shares unless the user asked for one of its own. */
export const sharedEngineKey = "shared";

/** How long the engine stays after its last window leaves: long enough to reopen one without a reload. */
export const defaultIdleExitMinutes = 5;

/** Environment override for the service directory (tests, and users with an unusual tmp). */
export const serviceDirEnv = "CLASP_ENGINE_DIR";

export interface ServiceLocation {
    dir: string;
    /** Unix socket path, or `\\.\pipe\…` on Windows. */
    socket: string;
    token: string;
    lock: string;
    log: string;
}

/** Unix socket paths longer than this fail to bind on macOS (104) and Linux (108). */
const maxSocketPathBytes = 100;

export function serviceDir(): string {
    const override = process.env[serviceDirEnv];
    if (override) return override;
    if (process.platform === "win32") return path.join(process.env.LOCALAPPDATA ?? os.homedir(), "clasp-complete", "engine");
    // XDG_RUNTIME_DIR is already private to the user and cleared at logout; tmp is the fallback.
    const runtime = process.env.XDG_RUNTIME_DIR;
    return runtime ? path.join(runtime, "clasp-complete") : path.join(os.tmpdir(), `clasp-complete-${os.userInfo().uid}`);
}

export function serviceLocation(version: string, key: string = sharedEngineKey, dir = serviceDir()): ServiceLocation {
    if (!/^[\w.+-]+$/.test(version) || !/^[\w-]+$/.test(key)) throw new Error(`Bad engine version or key: ${version} / ${key}`);
    const base = `engine-${version}-${key}`;
    const socket = process.platform === "win32"
        ? `\\\\.\\pipe\\clasp-complete-${os.userInfo().username.replace(/[^\w-]/g, "_")}-${base}`
        : path.join(dir, `${base}.sock`);
    if (process.platform !== "win32" && Buffer.byteLength(socket) > maxSocketPathBytes)
        throw new Error(`The engine socket path is too long (${socket}); set ${serviceDirEnv} to a shorter directory`);
    return { dir, socket, token: path.join(dir, `${base}.token`), lock: path.join(dir, `${base}.lock`), log: path.join(dir, `${base}.log`) };
}

/**
 * Creates the directory with mode 0700, or checks an existing one: it must be a real directory
 * (not a link someone planted), owned by this user, and closed to everyone else. A directory
 * owned by another user is refused, since whoever owns it could swap the socket.
 */
export function ensurePrivateDir(dir: string): void {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (process.platform === "win32") return; // The profile folder's ACL already limits it to the user.
    const stat = lstatSync(dir);
    if (!stat.isDirectory()) throw new Error(`${dir} is not a directory (a link?); refusing to use it for the engine socket`);
    const uid = os.userInfo().uid;
    if (stat.uid !== uid) throw new Error(`${dir} belongs to user ${stat.uid}, not to you (${uid}); refusing to use it for the engine socket`);
    if ((stat.mode & 0o077) !== 0) chmodSync(dir, 0o700);
}
