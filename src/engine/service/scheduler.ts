// Who uses the engine next, when several windows share it. The engine runs one generation at a
// time; this decides the order: at most one completion per window (a window's new completion
// replaces its older one, queued or running), completions before generates and the focused
// window's first, no waiting request passed over more than `maxPassOvers` times, and a long
// Generate handing its turn to any waiting completion after each decode round (see `YieldTurn`),
// so it never delays another window's ghost text by more than one round. Generates do not yield
// to each other: a completion is short, a generate is not, and round-robin between two long ones
// would only make both finish late.
import { EngineError, cancelledCode } from "../rpc.ts";

export type WorkKind = "complete" | "generate";

/**
 * Given to long work between rounds: undefined when no completion waits (carry on), otherwise a
 * promise that resolves once the waiting ones have had their turn and this work holds it again.
 */
export type YieldTurn = () => Promise<void> | undefined;

interface Entry {
    window: string;
    kind: WorkKind;
    seq: number;
    passedOver: number;
    /** Handed its turn back mid-work: goes behind every completion that waits. */
    yielded: boolean;
    controller: AbortController;
    waiter?: { resolve(): void; reject(error: Error): void };
}

/** How often a waiting request may be passed over for the focused window before it goes first. */
const maxPassOvers = 2;

/** Told when the scheduler starts work after having none, and when it has none left. */
export interface SchedulerActivity {
    busy(): void;
    idle(): void;
}

export class FairScheduler {
    private running?: Entry;
    private readonly queue: Entry[] = [];
    private seq = 0;
    private focused?: string;

    constructor(private readonly activity?: SchedulerActivity) {}

    setFocused(window: string, focused: boolean): void {
        if (focused) this.focused = window;
        else if (this.focused === window) this.focused = undefined;
    }

    /**
     * Runs `work` when it is this request's turn. The signal it gets aborts when the caller's does,
     * or when the same window's next completion replaces this one.
     */
    async run<T>(window: string, kind: WorkKind, signal: AbortSignal, work: (signal: AbortSignal, yieldTurn: YieldTurn) => Promise<T>): Promise<T> {
        if (kind === "complete") this.abortWhere((entry) => entry.window === window && entry.kind === "complete");
        this.activity?.busy();
        const entry: Entry = { window, kind, seq: this.seq++, passedOver: 0, yielded: false, controller: new AbortController() };
        const abort = () => entry.controller.abort();
        signal.addEventListener("abort", abort, { once: true });
        if (signal.aborted) abort();
        entry.controller.signal.addEventListener("abort", () => this.dropQueued(entry), { once: true });
        try {
            await this.enqueue(entry);
            const yieldTurn: YieldTurn = () =>
                this.running === entry && this.queue.some((other) => other.kind === "complete") ? this.handBack(entry) : undefined;
            return await work(entry.controller.signal, yieldTurn);
        } finally {
            signal.removeEventListener("abort", abort);
            this.dropQueued(entry);
            if (this.running === entry) this.running = undefined;
            this.pump();
            if (!this.running && this.queue.length === 0) this.activity?.idle();
        }
    }

    /** Aborts everything a window has queued or running (its connection is gone). */
    dropWindow(window: string): void {
        this.abortWhere((entry) => entry.window === window);
    }

    private abortWhere(matches: (entry: Entry) => boolean): void {
        const all = this.running ? [this.running, ...this.queue] : [...this.queue];
        for (const entry of all) if (matches(entry)) entry.controller.abort();
    }

    private enqueue(entry: Entry): Promise<void> {
        if (entry.controller.signal.aborted) return Promise.reject(cancelled());
        return new Promise<void>((resolve, reject) => {
            entry.waiter = { resolve, reject };
            this.queue.push(entry);
            this.pump();
        });
    }

    private dropQueued(entry: Entry): void {
        const index = this.queue.indexOf(entry);
        if (index < 0) return;
        this.queue.splice(index, 1);
        entry.waiter?.reject(cancelled());
    }

    /** Puts the running entry behind the waiting completions; resolves when it runs again. */
    private handBack(entry: Entry): Promise<void> {
        this.running = undefined;
        entry.yielded = true;
        entry.seq = this.seq++;
        const again = this.enqueue(entry);
        // Rejected when the work is cancelled while it waits; nobody may be awaiting it by then.
        again.catch(() => undefined);
        return again;
    }

    private pump(): void {
        if (this.running || this.queue.length === 0) return;
        let next = this.queue[0]!;
        for (const entry of this.queue) {
            const order = this.rank(entry) - this.rank(next) || entry.seq - next.seq;
            if (order < 0) next = entry;
        }
        for (const entry of this.queue) if (entry !== next && entry.seq < next.seq) entry.passedOver++;
        this.queue.splice(this.queue.indexOf(next), 1);
        this.running = next;
        next.waiter?.resolve();
    }

    /**
     * Lower goes first: work passed over too often, then completions (the focused window's first),
     * then a generate that handed its turn to them (it resumes before any other generate starts),
     * then the other generates.
     */
    private rank(entry: Entry): number {
        if (entry.yielded) return 3;
        if (entry.passedOver >= maxPassOvers) return 0;
        if (entry.kind === "generate") return 4;
        return entry.window === this.focused ? 1 : 2;
    }
}

function cancelled(): EngineError {
    return new EngineError("Request cancelled", cancelledCode, "AbortError");
}
