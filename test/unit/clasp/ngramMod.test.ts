import assert from "node:assert/strict";
import type { Llama, Token } from "node-llama-cpp";
import { NgramModDrafter, NgramModTable, newNgramModState, ngramModCopyDrafter, ngramModDefaults } from "../../../src/engine/clasp/ngramMod.ts";
import { createSpeculativeDecoder } from "../../../src/engine/clasp/speculativeDecoder.ts";
import { defaultSpeculationSettings } from "../../../src/engine/protocol.ts";
import { mulberry32 } from "../../../src/fixtures/prng.ts";
import { decodePlain, decodeWith, openModel, stockLlama, testPrompts, type TestPrompt } from "./harness.ts";

const randomTokens = (count: number, seed: number, vocabulary = 50_000) => {
    const random = mulberry32(seed);
    return Array.from({ length: count }, () => Math.floor(random() * vocabulary) as Token);
};

/** common_ngram_mod::idx exactly as llama.cpp computes it: 64-bit wrap-around, then mod the table size. */
function referenceIndex(tokens: number[], start: number, n: number, size: number): number {
    let hash = 0n;
    for (let i = 0; i < n; i++) hash = BigInt.asUintN(64, hash * 6364136223846793005n + BigInt(tokens[start + i]!));
    return Number(hash % BigInt(size));
}

describe("ngram-mod peer drafter (llama.cpp's, ported)", () => {
    it("hashes n-grams to the index llama.cpp's 64-bit arithmetic gives", () => {
        const table = new NgramModTable();
        const tokens = randomTokens(400, 7, 262_144);
        for (let start = 0; start + ngramModDefaults.nMatch <= tokens.length; start += 13)
            assert.equal(table.index(tokens, start), referenceIndex(tokens, start, ngramModDefaults.nMatch, ngramModDefaults.entries), `n-gram at ${start}`);
    });

    it("drafts the continuation of a repeated 24-token context, and only chains of at least 48", () => {
        const body = randomTokens(120, 3);
        // the context has seen `body` once and now repeats its first 30 tokens: the chain runs on from there
        const state = newNgramModState();
        const drafter = new NgramModDrafter(state, [...body, ...body.slice(0, 29)]);
        drafter.push([body[29]!]);
        const proposal = drafter.propose(64);
        assert.deepEqual(proposal.tokens, body.slice(30, 94));
        assert.deepEqual(drafter.propose(10).tokens, body.slice(30, 40), "capped at the tokens asked for");

        // A, B, then A again: the chain walks B and A's repeat, then meets the newest n-gram (not in the
        // table yet), so it is |B| + 23 long and counts only from 48
        const a = randomTokens(24, 4);
        const chainAfter = (bLength: number) => {
            const b = randomTokens(bLength, 5);
            const drafter = new NgramModDrafter(newNgramModState(), [...a, ...b, ...a.slice(0, 23)]);
            drafter.push([a[23]!]);
            return { b, tokens: drafter.propose(64).tokens };
        };
        assert.deepEqual(chainAfter(24).tokens, [], "a chain of 47 is below n_min");
        const { b, tokens } = chainAfter(25);
        assert.deepEqual(tokens, [...b, ...a.slice(0, 23)], "a chain of 48 is drafted whole");
    });

    it("resets the table when it is more than a quarter full, and after five drafts in a row mostly rejected", () => {
        const small = { table: new NgramModTable(24, 1024), lowStreak: 0 };
        const body = randomTokens(400, 9);
        const full = new NgramModDrafter(small, [...body, ...body.slice(0, 29)]);
        full.push([body[29]!]);
        assert.ok(small.table.occupancy === 0, "405 n-grams in 1024 entries fill over a quarter: reset");
        assert.deepEqual(full.propose(64).tokens, [], "nothing to draft from after the reset (the prompt is added again in chunks only once it grows)");

        const state = newNgramModState();
        const drafter = new NgramModDrafter(state, [...body, ...body.slice(0, 29)]);
        drafter.push([body[29]!]);
        for (let round = 1; round <= 4; round++) {
            drafter.verified(16, 2);
            assert.ok(state.table.occupancy > 0, `still kept after ${round} poor rounds`);
        }
        drafter.verified(16, 8);
        drafter.verified(16, 1);
        assert.ok(state.table.occupancy > 0, "a good round ends the streak");
        for (let round = 0; round < 4; round++) drafter.verified(16, 0);
        assert.equal(state.table.occupancy, 0, "five poor rounds in a row reset the table");
    });

    describe("verified by the speculative loop", function () {
        this.timeout(300_000);
        let llama: Llama;
        before(async () => { llama = await stockLlama(); });

        it("equals plain greedy decoding token for token, with drafts verified (redundant fixture)", async () => {
            const open = await openModel(llama, "redundant", 1024);
            try {
                const decoder = createSpeculativeDecoder({ ...defaultSpeculationSettings, mode: "lookup" }, { copyDrafter: ngramModCopyDrafter() });
                let drafted = 0;
                for (const [i, base] of testPrompts(open.model, 6).entries()) {
                    // the prompt, its own greedy continuation, then the prompt again: the continuation repeats in context
                    const first = await decodePlain(open.sequence, base, 64);
                    const tokens = [...base.tokens, ...first.tokens, ...base.tokens];
                    const prompt: TestPrompt = { kind: "prefix", tokens, lookupSource: tokens };
                    const plain = await decodePlain(open.sequence, prompt, 64);
                    const fast = await decodeWith(decoder, open.sequence, prompt, { maxTokens: 64 });
                    assert.deepEqual(fast.tokens, plain.tokens, `prompt ${i} differs`);
                    assert.equal(fast.outcome.end, plain.outcome.end, `prompt ${i} ends differently`);
                    drafted += fast.outcome.speculation?.draftedTokens ?? 0;
                }
                assert.ok(drafted > 0, "ngram-mod never drafted, so nothing was verified");
            } finally {
                await open.dispose();
            }
        });
    });
});
