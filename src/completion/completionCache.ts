// Suggestions remembered by the text around the cursor. A lookup also serves "typed-through"
// hits: when the user types exactly what a remembered suggestion says, the rest of it is shown at
// once, with no request. Entries are few, so a linear scan (cheap `startsWith` checks) beats
// hashing every earlier cursor position.

interface Entry {
    prefix: string;
    suffix: string;
    text: string;
}

export class CompletionCache {
    private entries: Entry[] = [];

    constructor(private readonly capacity = 64) {
        if (capacity < 1) throw new RangeError("cache capacity must be at least 1");
    }

    get size(): number {
        return this.entries.length;
    }

    set(prefix: string, suffix: string, text: string): void {
        if (text.length === 0) return;
        this.entries = this.entries.filter((e) => e.prefix !== prefix || e.suffix !== suffix);
        this.entries.unshift({ prefix, suffix, text });
        if (this.entries.length > this.capacity) this.entries.length = this.capacity;
    }

    /** The rest of a remembered suggestion that the text before the cursor has typed into, if any. */
    get(prefix: string, suffix: string): string | undefined {
        for (let i = 0; i < this.entries.length; i++) {
            const entry = this.entries[i]!;
            if (entry.suffix !== suffix || prefix.length < entry.prefix.length) continue;
            if (!prefix.startsWith(entry.prefix)) continue;
            const typed = prefix.slice(entry.prefix.length);
            if (typed.length >= entry.text.length || !entry.text.startsWith(typed)) continue;
            // Most recently used first, so the next keystroke finds it immediately.
            if (i > 0) this.entries.unshift(...this.entries.splice(i, 1));
            return entry.text.slice(typed.length);
        }
        return undefined;
    }

    clear(): void {
        this.entries = [];
    }
}
