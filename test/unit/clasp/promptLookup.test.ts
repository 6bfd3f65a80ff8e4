import assert from "node:assert/strict";
import type { Token } from "node-llama-cpp";
import { PromptLookup } from "../../../src/engine/clasp/promptLookup.ts";

const t = (...values: number[]) => values as Token[];

describe("prompt lookup drafts", () => {
    it("proposes what followed the history's tail in the source", () => {
        const lookup = new PromptLookup(t(1, 2, 3, 4, 5, 6));
        lookup.push(t(9, 2, 3));
        assert.deepEqual(lookup.propose(3), { tokens: t(4, 5, 6), matchLength: 2 });
        assert.deepEqual(lookup.propose(2).tokens, t(4, 5));
    });

    it("prefers the longest match over a more recent shorter one", () => {
        const lookup = new PromptLookup(t(7, 8, 9, 10, 11, 0, 9, 20));
        lookup.push(t(7, 8, 9));
        assert.deepEqual(lookup.propose(2), { tokens: t(10, 11), matchLength: 3 });
    });

    it("prefers the most recent of equally long matches", () => {
        const lookup = new PromptLookup(t(5, 6, 1, 0, 5, 6, 2));
        lookup.push(t(5, 6));
        assert.deepEqual(lookup.propose(1).tokens, t(2));
    });

    it("finds repetitions in the output itself, never the query", () => {
        const lookup = new PromptLookup(t(100, 101));
        lookup.push(t(1, 2, 3, 1, 2));
        assert.deepEqual(lookup.propose(4).tokens, t(3, 1, 2));
        const single = new PromptLookup(t());
        single.push(t(4, 5));
        assert.deepEqual(single.propose(4).tokens, []);
    });

    it("does not match across the end of the source into the history", () => {
        const lookup = new PromptLookup(t(1, 2));
        lookup.push(t(3, 1, 2));
        // [1, 2] ends the source: nothing follows it there.
        assert.deepEqual(lookup.propose(3).tokens, []);
    });

    it("needs at least minMatch tokens", () => {
        const lookup = new PromptLookup(t(1, 2, 3), { minMatch: 2 });
        lookup.push(t(8, 2));
        assert.deepEqual(lookup.propose(3).tokens, []);
        const loose = new PromptLookup(t(1, 2, 3), { minMatch: 1 });
        loose.push(t(8, 2));
        assert.deepEqual(loose.propose(3).tokens, t(3));
    });

    it("rejects bad options clearly", () => {
        assert.throws(() => new PromptLookup(t(), { minMatch: 0 }), /minMatch/);
        assert.throws(() => new PromptLookup(t(), { minMatch: 4, maxMatch: 2 }), /minMatch/);
    });
});
