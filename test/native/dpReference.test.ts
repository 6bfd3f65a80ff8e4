// The native DP (Algorithm 1 of CLaSp) against a reference written here in JavaScript on top of
// `evalLayerCandidates`, on random-weight fixtures (no identity layers: every decision is a real
// comparison). Both must agree cell by cell: which way g[i][j] came, and its cosine to x_i, in every
// cell that can lead to g[L][M] (the native DP does not compute the others).
import assert from "node:assert/strict";
import type { Token } from "node-llama-cpp";
import { fixturePresets, type FixtureSpec } from "../../src/fixtures/index.ts";
import type { OptimizeResult, OptimizeTrace } from "../../src/engine/native/claspNative.ts";
import type { ClaspNative } from "../../src/engine/native/index.ts";
import { loadFixtureModel, openSession, promptTokens } from "./nativeHarness.ts";

/** cos(a, b) accumulated in float64 and rounded to float32, as the native DP reports and compares it. */
function cosine(a: Float32Array, b: Float32Array): number {
    let dot = 0, na = 0, nb = 0;
    for (let i = 0; i < a.length; i++) {
        dot += a[i]! * b[i]!;
        na += a[i]! * a[i]!;
        nb += b[i]! * b[i]!;
    }
    const denominator = Math.sqrt(na) * Math.sqrt(nb);
    return Math.fround(denominator > 0 ? dot / denominator : 0);
}

interface ReferenceDp {
    mask: number[];
    skipped: number[];
    similarity: number[];
    cosine: number;
}

/** Algorithm 1: g[i][0] = x_i, g[i][i] = x_0 (i ≤ M), else the better of skipping layer i−1 and running it; ties skip. */
async function referenceDp(native: ClaspNative, pos: number, hidden: Float32Array, numSkip: number): Promise<ReferenceDp> {
    const { nLayer: L, nEmbd: E } = native.info;
    const M = numSkip;
    const x = (i: number) => hidden.subarray(i * E, (i + 1) * E);
    const cell = (i: number, j: number) => i * (M + 1) + j;
    const skipped = new Array<number>((L + 1) * (M + 1)).fill(0);
    const similarity = new Array<number>((L + 1) * (M + 1)).fill(Number.NaN);
    let previous: Float32Array[] = [x(0).slice()];
    similarity[cell(0, 0)] = 1;
    for (let i = 1; i <= L; i++) {
        const current: Float32Array[] = [x(i).slice()];
        similarity[cell(i, 0)] = 1;
        const ell = Math.min(i - 1, M);
        if (ell >= 1) {
            const candidates = new Float32Array(ell * E);
            for (let j = 1; j <= ell; j++) candidates.set(previous[j]!, (j - 1) * E);
            const run = await native.evalLayerCandidates(pos, i - 1, candidates);
            for (let j = 1; j <= ell; j++) {
                const ran = run.slice((j - 1) * E, j * E);
                const skip = previous[j - 1]!;
                const [ranSimilarity, skipSimilarity] = [cosine(ran, x(i)), cosine(skip, x(i))];
                const takeRun = ranSimilarity > skipSimilarity;
                current[j] = takeRun ? ran : skip;
                skipped[cell(i, j)] = takeRun ? 0 : 1;
                similarity[cell(i, j)] = takeRun ? ranSimilarity : skipSimilarity;
            }
        }
        if (i <= M) {
            current[i] = previous[i - 1]!;
            skipped[cell(i, i)] = 1;
            similarity[cell(i, i)] = cosine(current[i]!, x(i));
        }
        previous = current;
    }
    const mask = new Array<number>(L).fill(0);
    for (let i = L, j = M; i > 0 && j > 0; i--) {
        if (skipped[cell(i, j)]) {
            mask[i - 1] = 1;
            j--;
        }
    }
    return { mask, skipped, similarity, cosine: cosine(previous[M]!, x(L)) };
}

const fixtures: [string, FixtureSpec, number[]][] = [
    ["8 random layers", { ...fixturePresets.rand, layers: 8, seed: 5 }, [1, 3, 5]],
    ["12 random layers, F16", { ...fixturePresets.rand, layers: 12, seed: 9, tensorType: "F16" }, [4, 6]],
];

describe("native CLaSp: the DP equals a JavaScript reference DP on evalLayerCandidates", function () {
    for (const [name, spec, skipCounts] of fixtures) {
        it(`${name}: the same decision and cosine in every cell, the same mask (M = ${skipCounts.join(", ")})`, async () => {
            const model = await loadFixtureModel(spec);
            const session = await openSession(model);
            try {
                const prompt: Token[] = promptTokens(model);
                await session.sequence.evaluateWithoutGeneratingNewTokens(prompt.slice(0, -1));
                session.native.setCapture(true);
                await session.sequence.evaluateWithoutGeneratingNewTokens(prompt.slice(-1));
                session.native.setCapture(false);
                const pos = prompt.length - 1;
                const hidden = session.native.readHiddenStates(pos);
                assert.ok(hidden, "the prompt's last token was not captured");
                let runDecisions = 0, skipDecisions = 0, unreachable = 0;
                for (const numSkip of skipCounts) {
                    const native: OptimizeResult & OptimizeTrace = await session.native.optimize(pos, hidden, numSkip, true);
                    const reference = await referenceDp(session.native, pos, hidden, numSkip);
                    const { nLayer } = session.native.info;
                    for (let i = 0; i <= nLayer; i++) {
                        for (let j = 0; j <= numSkip; j++) {
                            const k = i * (numSkip + 1) + j;
                            if (j > 0 && j < numSkip - (nLayer - i)) {
                                // cannot reach g[L][M] (too few layers left to skip the rest): the native DP leaves it out
                                assert.ok(Number.isNaN(native.similarity[k]!), `M = ${numSkip}: g[${i}][${j}] cannot lead to g[L][M] but was computed`);
                                unreachable++;
                                continue;
                            }
                            assert.equal(native.skipped[k], reference.skipped[k], `M = ${numSkip}: g[${i}][${j}] came another way`);
                            const [a, b] = [native.similarity[k]!, reference.similarity[k]!];
                            assert.ok(Number.isNaN(a) ? Number.isNaN(b) : a === b, `M = ${numSkip}: D[${i}][${j}] is ${a}, the reference says ${b}`);
                            if (j >= 1 && j < i && !Number.isNaN(b)) reference.skipped[k] ? skipDecisions++ : runDecisions++;
                        }
                    }
                    assert.deepEqual([...native.mask], reference.mask, `M = ${numSkip}: another skip set`);
                    assert.equal(native.cosine, reference.cosine);
                }
                // a fixture where one side always wins would not test the comparison
                assert.ok(runDecisions > 0 && skipDecisions > 0, `decisions: ${runDecisions} run, ${skipDecisions} skip`);
                assert.ok(unreachable > 0, "no skip count here leaves cells that cannot reach g[L][M]: the pruning is untested");
            } finally {
                await session.context.dispose();
                await model.dispose();
            }
        });
    }
});
