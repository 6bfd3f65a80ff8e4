// Single-layer evaluation for the DP: candidates at position p attend to the real prefix [0, p) through
// temporary sequences; x_i must map to x_{i+1}, and the real KV cache must come out untouched.
import assert from "node:assert/strict";
import type { LlamaModel, Token } from "node-llama-cpp";
import { fixturePresets } from "../../src/fixtures/index.ts";
import { distributions, loadFixtureModel, maxAbsDiff, openSession, promptTokens, relativeDiff } from "./nativeHarness.ts";

/** Evaluates the prompt with capture on and returns x_0..x_L of its last token. */
async function capturedPrompt(session: Awaited<ReturnType<typeof openSession>>, prompt: Token[]) {
    session.native.setCapture(true);
    await session.sequence.evaluateWithoutGeneratingNewTokens(prompt);
    session.native.setCapture(false);
    const hidden = session.native.readHiddenStates(prompt.length - 1);
    assert.ok(hidden, "the prompt was not captured");
    return hidden;
}

describe("native CLaSp: layer evaluation on candidate states", function () {
    const models: LlamaModel[] = [];
    after(async () => { await Promise.all(models.map(m => m.dispose())); });

    for (const preset of ["rand", "granite"] as const) {
        it(`${preset}: layer i maps the captured x_i to x_{i+1} for every layer (<= 1e-5), candidates independent of each other`, async () => {
            const model = await loadFixtureModel(fixturePresets[preset]);
            models.push(model);
            const session = await openSession(model, { exactKv: true });
            try {
                const { nLayer, nEmbd } = session.native.info;
                const prompt = promptTokens(model);
                const p = prompt.length - 1;
                const hidden = await capturedPrompt(session, prompt);
                const x = (l: number) => hidden.subarray(l * nEmbd, (l + 1) * nEmbd);
                for (let i = 0; i < nLayer; i++) {
                    const out = await session.native.evalLayerCandidates(p, i, x(i).slice());
                    const diff = relativeDiff(out, x(i + 1));
                    assert.ok(diff <= 1e-5, `layer ${i}: relative diff ${diff}`);

                    // a second, different candidate in the same call must not change the first one's result
                    const pair = new Float32Array(2 * nEmbd);
                    pair.set(x(i), 0);
                    pair.set(x(0), nEmbd);
                    const both = await session.native.evalLayerCandidates(p, i, pair);
                    assert.ok(relativeDiff(both.subarray(0, nEmbd), x(i + 1)) <= 1e-5, `layer ${i}: candidate 0 changed by candidate 1`);
                    assert.ok(maxAbsDiff(both.subarray(nEmbd), x(i + 1)) > 0, `layer ${i}: candidate 1 ignored`);
                }
            } finally {
                await session.context.dispose();
            }
        });
    }

    it("leaves the real KV cache untouched: later logits equal a context that never ran the DP, bit for bit", async () => {
        const model = await loadFixtureModel(fixturePresets.redundant);
        models.push(model);
        const prompt = promptTokens(model);
        const nextToken = prompt[1]!;

        const clean = await openSession(model);
        const touched = await openSession(model);
        try {
            const nVocab = clean.native.info.nVocab;
            await clean.sequence.evaluateWithoutGeneratingNewTokens(prompt);
            const expected = await distributions(clean.sequence, [nextToken], nVocab);

            const hidden = await capturedPrompt(touched, prompt);
            const p = prompt.length - 1;
            await touched.native.optimize(p, hidden, 2);
            await touched.native.evalLayerCandidates(p, touched.native.info.nLayer - 1, hidden.slice(0, touched.native.info.nEmbd));
            await touched.native.draft({ pending: [nextToken], startPos: prompt.length, mask: null, maxTokens: 4, minConfidence: 0 });
            assert.equal(touched.sequence.nextTokenIndex, prompt.length);
            assert.deepEqual([...touched.native.getLayerSkip()], new Array(touched.native.info.nLayer).fill(0), "the context mask was not restored");
            const actual = await distributions(touched.sequence, [nextToken], nVocab);
            assert.equal(maxAbsDiff(actual[0]!, expected[0]!), 0);
        } finally {
            await clean.context.dispose();
            await touched.context.dispose();
        }
    });
});
