// Asks a test run's engine what it is doing, the way a window does (token, hello, welcome), and
// hangs up: the engine's own pid and status (state, model, patched build) to hold the UI against.
// The probe sends no idle-exit time and no focus, so it changes nothing for the windows.
import { readFileSync } from "node:fs";
import path from "node:path";
import { connectToService } from "../../src/client/serviceSocket.ts";
import { readLockPid } from "../../src/engine/service/credentials.ts";
import { serviceLocation, sharedEngineKey } from "../../src/engine/service/location.ts";
import type { Welcome } from "../../src/engine/service/wire.ts";

export function extensionVersion(extensionDir: string): string {
    return (JSON.parse(readFileSync(path.join(extensionDir, "package.json"), "utf8")) as { version: string }).version;
}

/** The welcome of the shared engine in `engineDir`, or undefined while none answers there. */
export async function probeEngine(engineDir: string, version: string): Promise<Welcome | undefined> {
    const attempt = await connectToService(serviceLocation(version, sharedEngineKey, engineDir), { version, client: "test driver probe" });
    if (attempt.kind === "refused") throw new Error(`the engine refused the probe: ${attempt.refused.code} ${attempt.refused.reason}`);
    if (attempt.kind !== "open") return undefined;
    attempt.socket.destroy();
    return attempt.welcome;
}

/** The pid in the shared engine's lock file (the process that owns the socket), if any. */
export function lockedEnginePid(engineDir: string, version: string): number | undefined {
    return readLockPid(serviceLocation(version, sharedEngineKey, engineDir).lock);
}

export function engineLogFile(engineDir: string, version: string): string {
    return serviceLocation(version, sharedEngineKey, engineDir).log;
}
