// Entry point of the engine process: the per-user engine service. A window starts it detached
// (src/client/spawnEngine.ts) with the service directory, the extension version and the engine
// key; it serves every window that connects with the token, and exits by itself a while after
// the last one leaves, when another engine replaced its files, or on SIGTERM / SIGINT.
import process from "node:process";
import { parseArgs } from "node:util";
import { Engine } from "./engine.ts";
import { EngineAlreadyRunning } from "./service/credentials.ts";
import { serviceLocation } from "./service/location.ts";
import { defaultIdleExitMs, sharedEngineSlots, startEngineService } from "./service/server.ts";

const log = (line: string) => console.error(`${new Date().toISOString()} [engine ${process.pid}] ${line}`);

const { values } = parseArgs({
    options: {
        dir: { type: "string" },
        version: { type: "string" },
        key: { type: "string" },
        "idle-exit-ms": { type: "string" },
    },
});
if (!values.dir || !values.version || !values.key) {
    console.error("usage: engine --dir DIR --version VERSION --key KEY [--idle-exit-ms MS] (windows start it; see src/client/spawnEngine.ts)");
    process.exit(2);
}
const idleExitMs = values["idle-exit-ms"] === undefined ? defaultIdleExitMs : Number(values["idle-exit-ms"]);

const engine = new Engine({ slots: sharedEngineSlots });
engine.on("log", (entry) => log(`${entry.level}: ${entry.message}`));
try {
    const service = await startEngineService({
        location: serviceLocation(values.version, values.key, values.dir),
        version: values.version,
        engine,
        idleExitMs: Number.isFinite(idleExitMs) && idleExitMs >= 0 ? idleExitMs : defaultIdleExitMs,
        log,
    });
    for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.once(signal, () => void service.close(`received ${signal}`));
    log(`stopped: ${await service.closed}`);
    process.exit(0);
} catch (error) {
    if (error instanceof EngineAlreadyRunning) {
        // Two windows started an engine at once; the other one won.
        log(error.message);
        process.exit(0);
    }
    log(`could not start: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
    process.exit(1);
}
