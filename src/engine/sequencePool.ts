// Which KV-cache sequence serves whom. A shared engine gives each window a sequence of its own,
// so a window's next keystroke reuses the prompt it evaluated last time however many other
// windows completed in between; without that, every switch between windows re-prefilled a whole
// prompt (the typing storm measured shared-engine latency at six times a separate engine's).
// There are only as many sequences as the context was created with (each costs a full KV cache
// of memory), so a new owner beyond that takes the least recently used owner's sequence.

export class SequencePool<S> {
    /** Owner → sequence; a Map iterates in insertion order, so re-inserting on use keeps it by recency. */
    private readonly owners = new Map<string, S>();
    private readonly free: S[];

    constructor(sequences: readonly S[]) {
        if (sequences.length === 0) throw new Error("a sequence pool needs at least one sequence");
        this.free = [...sequences].reverse();
    }

    /** The owner's sequence: its own when it has one, else a free one, else the least recently used owner's. */
    take(owner: string): S {
        let sequence = this.owners.get(owner);
        if (sequence !== undefined) this.owners.delete(owner);
        else sequence = this.free.pop() ?? this.evictLeastRecent();
        this.owners.set(owner, sequence);
        return sequence;
    }

    /** The owner is gone (its window closed): its sequence is the next new owner's. */
    release(owner: string): void {
        const sequence = this.owners.get(owner);
        if (sequence === undefined) return;
        this.owners.delete(owner);
        this.free.push(sequence);
    }

    private evictLeastRecent(): S {
        const [owner, sequence] = this.owners.entries().next().value as [string, S];
        this.owners.delete(owner);
        return sequence;
    }
}
