// llama.cpp's `ngram-mod` drafter, the peer our prompt lookup is measured against: a port of
// common/ngram-mod.cpp and of its use in common/speculative.cpp (`common_speculative_impl_ngram_mod`)
// as node-llama-cpp 3.21.1 bundles them, with their defaults (n_match 24, n_max 64, n_min 48, 4 Mi
// entries). One hash table maps each 24-token n-gram of everything the model has seen to the token
// that followed it, collisions and all; a draft chains lookups from the last 24 tokens and counts
// only when at least 48 long. The table outlives requests (llama.cpp shares it across sequences),
// is reset once a quarter full, and after five drafts in a row with under a quarter accepted.
import type { Token } from "node-llama-cpp";
import type { CopyDrafter, LookupProposal } from "./promptLookup.ts";

export const ngramModDefaults = { nMatch: 24, nMax: 64, nMin: 48, entries: 4 * 1024 * 1024 };

const empty = -1;
/** llama.cpp's multiplier, mod 2^32: with a power-of-two table the index needs only the low bits of its 64-bit hash. */
const multiplierLow32 = 1284865837;
const addChunk = 32;
const occupancyLimit = 0.25;
const lowAcceptance = 0.25;
const lowStreakLimit = 5;

/** The shared n-gram table (common_ngram_mod). */
export class NgramModTable {
    readonly n: number;
    #used = 0;
    readonly #entries: Int32Array;
    readonly #mask: number;

    constructor(n = ngramModDefaults.nMatch, entries = ngramModDefaults.entries) {
        if (!Number.isInteger(Math.log2(entries))) throw new Error(`the ngram-mod table size must be a power of two, got ${entries}`);
        this.n = n;
        this.#entries = new Int32Array(entries).fill(empty);
        this.#mask = entries - 1;
    }

    /** (Σ res·K + token) mod 2^64 mod size, as common_ngram_mod::idx computes it. */
    index(tokens: ArrayLike<number>, start: number): number {
        let hash = 0;
        for (let i = 0; i < this.n; i++) hash = (Math.imul(hash, multiplierLow32) + tokens[start + i]!) >>> 0;
        return hash & this.#mask;
    }

    /** Records that tokens[start + n] followed the n-gram at `start`. */
    add(tokens: ArrayLike<number>, start: number): void {
        const i = this.index(tokens, start);
        if (this.#entries[i] === empty) this.#used++;
        this.#entries[i] = tokens[start + this.n]!;
    }

    get(tokens: ArrayLike<number>, start: number): number {
        return this.#entries[this.index(tokens, start)]!;
    }

    get occupancy(): number {
        return this.#used / this.#entries.length;
    }

    reset(): void {
        this.#entries.fill(empty);
        this.#used = 0;
    }
}

/** What outlives a request: the table, and the sequence's streak of poorly accepted drafts. */
export interface NgramModState {
    table: NgramModTable;
    lowStreak: number;
}

export const newNgramModState = (): NgramModState => ({ table: new NgramModTable(), lowStreak: 0 });

/**
 * One request's view of the shared table: the constructor adds the context the model has
 * evaluated (llama.cpp's `begin`), `push` what is committed after it. The newest pushed token plays
 * llama.cpp's `id_last`: it ends the lookup key but is not yet added as an n-gram's successor.
 */
export class NgramModDrafter implements CopyDrafter {
    readonly #state: NgramModState;
    readonly #seen: Token[];
    #addedUpTo = 0;

    constructor(state: NgramModState, context: readonly Token[]) {
        this.#state = state;
        const table = state.table;
        this.#seen = [...context];
        const n = table.n;
        if (context.length < n) return;
        for (let i = 0; i < context.length - n; i++) table.add(this.#seen, i);
        this.#addedUpTo = context.length - n;
        if (table.occupancy > occupancyLimit) table.reset();
    }

    push(tokens: readonly Token[]): void {
        this.#seen.push(...tokens);
    }

    propose(maxTokens: number): LookupProposal {
        const none = { tokens: [], matchLength: 0 };
        const n = this.#state.table.n;
        // llama.cpp's `prompt` is everything before id_last
        const promptLength = this.#seen.length - 1;
        if (promptLength < n || maxTokens <= 0) return none;
        if (this.#addedUpTo + addChunk < promptLength) {
            for (let i = this.#addedUpTo; i < promptLength - n; i++) this.#state.table.add(this.#seen, i);
            this.#addedUpTo = promptLength - n;
        }
        const chain = this.#seen.slice(-n);
        for (let i = 0; i < ngramModDefaults.nMax; i++) {
            const token = this.#state.table.get(chain, i);
            if (token === empty) {
                if (i < ngramModDefaults.nMin) return none;
                break;
            }
            chain.push(token as Token);
        }
        return { tokens: chain.slice(n, n + maxTokens), matchLength: n };
    }

    /** llama.cpp's `accept`: a streak of mostly rejected drafts resets the table. */
    verified(drafted: number, accepted: number): void {
        if (drafted === 0) return;
        const state = this.#state;
        if (accepted / drafted < lowAcceptance) {
            if (++state.lowStreak >= lowStreakLimit) {
                this.#state.table.reset();
                state.lowStreak = 0;
                this.#addedUpTo = 0;
            }
        } else state.lowStreak = 0;
    }
}

/** The decoder's `copyDrafter` for the ngram-mod peer, over one sequence's lasting state. */
export function ngramModCopyDrafter(state: NgramModState = newNgramModState()) {
    return (context: readonly Token[], pending: Token): CopyDrafter => {
        const drafter = new NgramModDrafter(state, context);
        drafter.push([pending]);
        return drafter;
    };
}
