// Gives memory back once the engine has been quiet for a while. Typing churns through prompts,
// logits and token arrays; V8 and glibc keep what they freed for reuse, so a busy engine's RSS
// drifts up by tens of MB and stays there until V8's memory reducer happens to run. One full GC
// and a malloc_trim at the first quiet moment return it (tens of ms, when no one is waiting).

/** No request for this long counts as quiet (the service default): well past the gaps between keystrokes. */
export const idleReclaimQuietMs = 2000;

export class IdleReclaimer {
    private timer?: NodeJS.Timeout;

    constructor(private readonly reclaim: () => void, private readonly quietMs: number) {}

    /** Work started: a pending reclaim would only get in its way. */
    busy(): void {
        clearTimeout(this.timer);
        this.timer = undefined;
    }

    /** No work left: reclaim once, unless work starts again within the quiet time. */
    idle(): void {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => {
            this.timer = undefined;
            this.reclaim();
        }, this.quietMs);
        this.timer.unref();
    }

    dispose(): void {
        this.busy();
    }
}
