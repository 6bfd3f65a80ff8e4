// The last few completion requests and what became of them: the data behind "why no suggestion?".

export type Outcome =
    | "shown"
    | "cached"
    | "filtered"
    | "empty"
    | "cancelled"
    | "error"
    | "paused"
    | "languageDisabled"
    | "engineNotReady";

export interface RequestRecord {
    at: number;
    file: string;
    languageId: string;
    line: number;
    character: number;
    outcome: Outcome;
    /** Human-readable detail: the stop rules applied, the error, the engine state… */
    detail: string;
    latencyMs: number;
    /** The start of the suggestion, when there was one. */
    preview?: string;
}

export const outcomeExplanations: Record<Outcome, string> = {
    shown: "A suggestion was shown.",
    cached: "A suggestion was shown from the cache (no engine request).",
    filtered: "The model answered, but the stop rules removed everything (it only repeated existing code).",
    empty: "The model produced no text here.",
    cancelled: "A newer keystroke cancelled this request, or VS Code asked again without one after the suggestion was dismissed.",
    error: "The engine reported an error.",
    paused: "Completions are paused (status bar menu → Resume).",
    languageDisabled: "Completions are turned off for this language (clasp.enable).",
    engineNotReady: "The engine or model is not ready yet.",
};

export class RequestLog {
    private records: RequestRecord[] = [];
    private listeners = new Set<(record: RequestRecord) => void>();

    constructor(private readonly capacity = 50) {}

    add(record: RequestRecord): void {
        this.records.unshift(record);
        if (this.records.length > this.capacity) this.records.length = this.capacity;
        for (const listener of this.listeners) listener(record);
    }

    /** Newest first. */
    recent(): readonly RequestRecord[] {
        return this.records;
    }

    onRecord(listener: (record: RequestRecord) => void): () => void {
        this.listeners.add(listener);
        return () => this.listeners.delete(listener);
    }
}
