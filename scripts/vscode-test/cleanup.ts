// Every launcher registers how to tear down what it started. The hooks run on normal completion,
// on Ctrl-C / SIGTERM and on an overall deadline, so no code-server, extension host, engine or
// chromium outlives a test run.
type Hook = () => Promise<void> | void;

const hooks: Hook[] = [];
/** Synchronous last resorts for `process.on("exit")`, where nothing async can run. */
const exitKills: (() => void)[] = [];
let installed = false;

export function onCleanup(hook: Hook, killSync?: () => void): () => void {
    installSignalHandlers();
    hooks.push(hook);
    if (killSync) exitKills.push(killSync);
    return () => {
        const index = hooks.indexOf(hook);
        if (index >= 0) hooks.splice(index, 1);
        if (killSync) {
            const killIndex = exitKills.indexOf(killSync);
            if (killIndex >= 0) exitKills.splice(killIndex, 1);
        }
    };
}

/** Runs the hooks newest first (the browser closes before the server it talks to). */
export async function runCleanup(): Promise<void> {
    while (hooks.length > 0) {
        const hook = hooks.pop()!;
        try {
            await hook();
        } catch (error) {
            console.error("cleanup step failed:", error);
        }
    }
}

/** Aborts the whole run if it is still going after `ms`: cleans up and exits with code 124. */
export function exitAfter(ms: number, what: string): NodeJS.Timeout {
    const timer = setTimeout(() => {
        console.error(`${what}: timed out after ${Math.round(ms / 1000)} s, stopping everything`);
        void runCleanup().finally(() => process.exit(124));
    }, ms);
    timer.unref();
    return timer;
}

function installSignalHandlers(): void {
    if (installed) return;
    installed = true;
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
        process.once(signal, () => {
            console.error(`received ${signal}, stopping everything`);
            void runCleanup().finally(() => process.exit(130));
        });
    }
    process.once("exit", () => {
        for (const kill of exitKills) {
            try {
                kill();
            } catch {
                // Already gone: nothing left to do at exit.
            }
        }
    });
}

/**
 * Runs a test driver's `main`, tears everything down and exits with its code. A driver that
 * throws still ends with the "N passed, N failed" line CI reads.
 */
export function runDriver(main: () => Promise<number>): void {
    main()
        .catch((error: unknown) => {
            console.error(error instanceof Error ? error.message : error);
            console.log("0 passed, 1 failed");
            return 1;
        })
        .then(async (code) => {
            await runCleanup();
            process.exit(code);
        });
}
