// Adaptive debounce: wait long enough that a fast typist's next keystroke usually arrives before
// the request goes out (saving the engine work that would be thrown away), but no longer. The wait
// follows the user's own typing rhythm, never exceeds the configured base (cancellation is real, so
// a request that turns out early costs little, while waiting costs every user latency), and
// shrinks after characters that usually precede a completion.

export interface DebounceOptions {
    /** The configured base delay (`clasp.completion.debounceMs`). 0 disables waiting. */
    baseMs: number;
}

const rhythmGapMs = 600;

/**
 * A fresh (blank) line, or a character after which a suggestion is very likely wanted right away,
 * with the space typed after it ("x = " is as eager as "x ="); a binary operator or `return` only
 * with its space ("price * " wants the operand, "price *" may still become "*=" or "**").
 */
const eagerEndings = /^\s*$|[.({[,:=>] ?$|[-+*/%&|?] $|\breturn $/;

export class AdaptiveDebounce {
    private lastKeystrokeAt: number | undefined;
    /** Exponential moving average of the gap between keystrokes, in ms. */
    private typingGapMs: number | undefined;

    constructor(private options: DebounceOptions) {}

    configure(options: DebounceOptions): void {
        this.options = options;
    }

    /** Records a keystroke at `now` (also those served from the cache, which need no wait). */
    observe(now: number): void {
        if (this.lastKeystrokeAt !== undefined) {
            const gap = now - this.lastKeystrokeAt;
            // Longer gaps are pauses to think, not typing rhythm.
            if (gap > 0 && gap < rhythmGapMs) this.typingGapMs = this.typingGapMs === undefined ? gap : 0.7 * this.typingGapMs + 0.3 * gap;
        }
        this.lastKeystrokeAt = now;
    }

    /**
     * Records a keystroke at `now` and returns how long to wait before asking the engine: the quiet
     * wanted after the edit, less the `quietMs` that already passed since it (VS Code itself waits
     * about 50 ms after the last keystroke before it asks a provider; waiting that again is latency
     * every user pays and no keystroke is saved by).
     */
    delayFor(now: number, linePrefix: string, quietMs = 0): number {
        this.observe(now);
        return Math.max(0, this.wantedQuietMs(linePrefix) - Math.max(0, quietMs));
    }

    private wantedQuietMs(linePrefix: string): number {
        const base = this.options.baseMs;
        if (base <= 0) return 0;
        const min = Math.round(base / 4);
        if (eagerEndings.test(linePrefix)) return min;
        if (this.typingGapMs === undefined) return base;
        return Math.round(Math.min(base, Math.max(min, 1.3 * this.typingGapMs)));
    }
}

/** Resolves true after `ms`, or false as soon as `signal` aborts (never rejects). */
export function abortableDelay(ms: number, signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    if (ms <= 0) return Promise.resolve(true);
    return new Promise((resolve) => {
        const onAbort = () => {
            clearTimeout(timer);
            resolve(false);
        };
        const timer = setTimeout(() => {
            signal.removeEventListener("abort", onAbort);
            resolve(true);
        }, ms);
        signal.addEventListener("abort", onAbort, { once: true });
    });
}

/**
 * Holds the one request that matters: starting a new one aborts the previous one, which (through
 * the engine client) cancels the generation in the engine, not just the wait for its reply.
 */
export class LatestRequest {
    private current: AbortController | undefined;

    begin(...linked: (AbortSignal | undefined)[]): AbortSignal {
        this.current?.abort();
        const controller = new AbortController();
        this.current = controller;
        for (const signal of linked) {
            if (!signal) continue;
            if (signal.aborted) controller.abort();
            else signal.addEventListener("abort", () => controller.abort(), { once: true });
        }
        return controller.signal;
    }

    abort(): void {
        this.current?.abort();
        this.current = undefined;
    }
}
