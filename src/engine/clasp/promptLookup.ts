// Zero-cost drafts (prompt lookup decoding): when the last few tokens already occurred in the
// prompt (prefix or suffix) or earlier in the output, propose the tokens that followed them
// there. Code completion re-types identifiers, closing brackets and edited copies of nearby
// lines, so these drafts are often right and cost no model evaluation at all.
import type { Token } from "node-llama-cpp";

export interface PromptLookupOptions {
    /** Shortest suffix of the history that counts as a match (1 gives many false hits). */
    minMatch: number;
    /** Longest suffix compared; longer matches are preferred. */
    maxMatch: number;
}

export const defaultPromptLookupOptions: PromptLookupOptions = { minMatch: 2, maxMatch: 8 };

export interface LookupProposal {
    tokens: Token[];
    /** How many history tokens matched before the proposal. */
    matchLength: number;
}

/** What a copying drafter (prompt lookup, or the ngram-mod peer in ngramMod.ts) offers the round loop. */
export interface CopyDrafter {
    /** Appends tokens the model has now seen; the last one is the newest. */
    push(tokens: readonly Token[]): void;
    /** Up to `maxTokens` tokens to verify next, or none. */
    propose(maxTokens: number): LookupProposal;
    /** After a round that verified `drafted` of the proposed tokens and accepted `accepted`. */
    verified?(drafted: number, accepted: number): void;
}

/**
 * Searches a fixed source (the prompt) and a growing history (the tokens the model has seen,
 * ending with the newest one) for the longest earlier occurrence of the history's tail.
 */
export class PromptLookup implements CopyDrafter {
    readonly #options: PromptLookupOptions;
    readonly #source: readonly Token[];
    readonly #history: Token[] = [];
    /** Positions of each token, source first, then history (offset by the source length). */
    readonly #positions = new Map<Token, number[]>();

    constructor(source: readonly Token[], options: Partial<PromptLookupOptions> = {}) {
        this.#options = { ...defaultPromptLookupOptions, ...options };
        if (!(this.#options.minMatch >= 1 && this.#options.maxMatch >= this.#options.minMatch))
            throw new Error(`prompt lookup needs 1 <= minMatch <= maxMatch, got ${this.#options.minMatch}..${this.#options.maxMatch}`);
        this.#source = source;
        source.forEach((token, index) => this.#index(token, index));
    }

    /** Appends tokens the model has now seen (prompt tail, pending token, committed output). */
    push(tokens: readonly Token[]): void {
        for (const token of tokens) {
            this.#index(token, this.#source.length + this.#history.length);
            this.#history.push(token);
        }
    }

    /** Up to `maxTokens` tokens that followed the best earlier match of the history's tail, or none. */
    propose(maxTokens: number): LookupProposal {
        const none = { tokens: [], matchLength: 0 };
        const historyLength = this.#history.length;
        if (maxTokens <= 0 || historyLength < this.#options.minMatch) return none;
        const last = this.#history[historyLength - 1]!;
        const queryEnd = this.#source.length + historyLength - 1;
        let bestEnd = -1;
        let bestLength = 0;
        // Newest occurrence first, so ties go to the most recent context.
        const candidates = this.#positions.get(last) ?? [];
        for (let c = candidates.length - 1; c >= 0; c--) {
            const end = candidates[c]!;
            if (end >= queryEnd) continue;
            const length = this.#matchLength(end, queryEnd);
            if (length > bestLength && this.#continues(end, end + 1)) {
                bestLength = length;
                bestEnd = end;
                if (length >= this.#options.maxMatch) break;
            }
        }
        if (bestLength < this.#options.minMatch) return none;
        const tokens: Token[] = [];
        for (let at = bestEnd + 1; tokens.length < maxTokens && this.#continues(bestEnd, at); at++) tokens.push(this.#at(at));
        return { tokens, matchLength: bestLength };
    }

    #index(token: Token, position: number): void {
        let list = this.#positions.get(token);
        if (list === undefined) this.#positions.set(token, (list = []));
        list.push(position);
    }

    #at(position: number): Token {
        return position < this.#source.length ? this.#source[position]! : this.#history[position - this.#source.length]!;
    }

    /** Matching tokens counted backwards from `end` and `queryEnd`, within one segment. */
    #matchLength(end: number, queryEnd: number): number {
        const sourceLength = this.#source.length;
        let length = 0;
        while (length < this.#options.maxMatch) {
            const a = end - length;
            const b = queryEnd - length;
            if (a < 0 || b < sourceLength) break;
            // A match in the source must not run across into the history, and vice versa.
            if (end < sourceLength !== a < sourceLength) break;
            if (this.#at(a) !== this.#at(b)) break;
            length++;
        }
        return length;
    }

    /** A continuation stays in the segment of its match and never reaches the query itself. */
    #continues(end: number, at: number): boolean {
        const sourceLength = this.#source.length;
        const total = sourceLength + this.#history.length;
        if (end < sourceLength) return at < sourceLength;
        return at < total;
    }
}
