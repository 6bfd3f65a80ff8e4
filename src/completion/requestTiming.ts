// Where one completion's time went, as the request log writes it ("why no suggestion?", the output
// channel) and as bench/time-to-ghost-text.ts reads it back from the log: one format, both ways.

export interface RequestTiming {
    debounceMs: number;
    /** From sending the request to the engine's answer: the engine's work plus IPC and queueing. */
    roundTripMs: number;
    /** The engine's own time for the request (prompt build excluded). */
    engineMs: number;
    promptBuildMs: number;
    prefillMs: number;
    /** From the engine starting the request to its first generated token. */
    firstTokenMs: number;
}

export function formatTiming(t: RequestTiming): string {
    return `debounce ${t.debounceMs} ms, engine ${Math.round(t.engineMs)} ms of ${t.roundTripMs} ms round trip ` +
        `(prompt build ${t.promptBuildMs.toFixed(1)} ms, prefill ${t.prefillMs.toFixed(1)} ms, first token at ${t.firstTokenMs.toFixed(1)} ms)`;
}

const timingPattern =
    /debounce (\d+) ms, engine (\d+) ms of (\d+) ms round trip \(prompt build ([\d.]+) ms, prefill ([\d.]+) ms, first token at ([\d.]+) ms\)/;

/** The timing in a line `formatTiming` wrote, or undefined when it holds none. */
export function parseTiming(line: string): RequestTiming | undefined {
    const match = timingPattern.exec(line);
    if (!match) return undefined;
    const [debounceMs, engineMs, roundTripMs, promptBuildMs, prefillMs, firstTokenMs] = match.slice(1).map(Number) as
        [number, number, number, number, number, number];
    return { debounceMs, roundTripMs, engineMs, promptBuildMs, prefillMs, firstTokenMs };
}

/**
 * Whether a request that ended with nothing spent most of its time cap on prefill: a cold KV cache
 * (the first request after a model load or in a newly opened file). What it evaluated stays cached,
 * so asking once more at the same spot is fast, and otherwise the user sees nothing until the next
 * keystroke.
 */
export function timedOutInPrefill(detail: string): boolean {
    if (!/engine stop: timeout\b/.test(detail)) return false;
    const timing = parseTiming(detail);
    return timing !== undefined && timing.prefillMs >= timing.engineMs / 2;
}
