// The sampling check shared by the lookup and the layer-skip sampling tests.
import assert from "node:assert/strict";
import type { Token } from "node-llama-cpp";
import type { Decoder } from "../../../src/engine/decoding.ts";
import { chiSquare, chiSquareCritical001 } from "./chiSquare.ts";
import { decodeWith, firstTwoTokenDistribution, outcomeKey, type OpenModel } from "./harness.ts";

export async function assertSamplesFollow(
    open: Pick<OpenModel, "model" | "sequence">,
    decoder: Decoder,
    options: { draws: number; temperature: number; lookupDraftsBothTokens?: boolean; prompt?: Token[] },
): Promise<void> {
    const prompt = options.prompt ?? open.model.tokenize("more");
    assert.ok(prompt.length >= 2, "the prompt needs two tokens for a lookup match");
    const joint = await firstTwoTokenDistribution(open.sequence, prompt, options.temperature);
    // Lookup source: the prompt's tail followed by a likely (not certain) pair, so drafts get both accepted and rejected.
    const pairs = [...joint.entries()].filter(([key]) => !key.includes("eog")).sort((a, b) => b[1] - a[1]);
    assert.ok(pairs.length >= 2, "the model needs at least two likely token pairs");
    const [draftFirst, draftSecond] = pairs[1]![0].split(",").map(Number) as [Token, Token];
    const lookupSource = [...prompt.slice(-2), draftFirst, draftSecond];

    const counts = new Map<string, number>();
    let drafted = 0;
    for (let seed = 0; seed < options.draws; seed++) {
        const { tokens, outcome } = await decodeWith(decoder, open.sequence, { kind: "prefix", tokens: prompt, lookupSource },
            { maxTokens: 2, temperature: options.temperature, seed });
        const key = outcomeKey(tokens, outcome.end === "eog");
        counts.set(key, (counts.get(key) ?? 0) + 1);
        drafted += outcome.speculation?.draftedTokens ?? 0;
    }
    if (options.lookupDraftsBothTokens) assert.ok(drafted >= 0.9 * options.draws, `only ${drafted} draft tokens in ${options.draws} draws`);
    else assert.ok(drafted > options.draws / 4, `only ${drafted} draft tokens in ${options.draws} draws`);

    // Cells expected below 5 are pooled into one, as the chi-square approximation needs.
    const observed: number[] = [], expected: number[] = [];
    let pooledObserved = 0, pooledExpected = 0;
    for (const [pair, p] of joint) {
        const e = p * options.draws, o = counts.get(pair) ?? 0;
        counts.delete(pair);
        if (e >= 5) { observed.push(o); expected.push(e); }
        else { pooledObserved += o; pooledExpected += e; }
    }
    assert.equal(counts.size, 0, `emitted pairs the model gives probability 0: ${[...counts.keys()].join(" ")}`);
    observed.push(pooledObserved);
    expected.push(pooledExpected);
    const statistic = chiSquare(observed, expected);
    const critical = chiSquareCritical001[observed.length - 1] ?? Infinity;
    assert.ok(Number.isFinite(critical), `too many cells (${observed.length}) for the critical-value table`);
    assert.ok(statistic < critical, `chi-square ${statistic.toFixed(1)} >= ${critical} over ${observed.length} cells`);
}
