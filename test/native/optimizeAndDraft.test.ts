// The native DP (Algorithm 1) and the draft loop: identity layers are found exactly, drafting with
// them skipped reproduces greedy decoding, sampling is seeded and returns full distributions.
import assert from "node:assert/strict";
import type { LlamaModel, Token } from "node-llama-cpp";
import { fixturePresets, resolveFixtureSpec } from "../../src/fixtures/index.ts";
import { greedyWalk, loadFixtureModel, maskOf, openSession, promptTokens, type Session } from "./nativeHarness.ts";

const identityLayers = resolveFixtureSpec(fixturePresets.redundant).identityLayers;

describe("native CLaSp: DP and draft", function () {
    let model: LlamaModel;
    let session: Session;
    let prompt: Token[];
    let hidden: Float32Array;
    let greedy: Token[];
    const p = () => prompt.length - 1;

    before(async () => {
        model = await loadFixtureModel(fixturePresets.redundant);
        prompt = promptTokens(model);
        const reference = await openSession(model);
        try {
            greedy = (await greedyWalk(reference.sequence, prompt, 8, reference.native.info.nVocab)).tokens;
        } finally {
            await reference.context.dispose();
        }
        session = await openSession(model);
        // the prompt minus its last token is the committed prefix; the last token is verified with capture on
        await session.sequence.evaluateWithoutGeneratingNewTokens(prompt.slice(0, -1));
        session.native.setCapture(true);
        await session.sequence.evaluateWithoutGeneratingNewTokens(prompt.slice(-1));
        session.native.setCapture(false);
        hidden = session.native.readHiddenStates(p())!;
        assert.ok(hidden, "the last prompt token was not captured");
    });
    after(async () => {
        await session?.context.dispose();
        await model?.dispose();
    });

    it(`the DP with M = 2 on the model whose layers {${identityLayers}} are identities returns exactly those layers`, async () => {
        const result = await session.native.optimize(p(), hidden, 2);
        assert.deepEqual([...result.mask], [...maskOf(session.native.info.nLayer, identityLayers)]);
        assert.ok(Math.abs(result.cosine - 1) < 1e-6, `cosine ${result.cosine}`);
    });

    it("skips exactly M layers for every M", async () => {
        for (let m = 0; m < session.native.info.nLayer; m++) {
            const { mask } = await session.native.optimize(p(), hidden, m);
            assert.equal(mask.reduce((a, b) => a + b, 0), m, `M = ${m}`);
        }
    });

    it("a greedy draft with the identity layers skipped equals plain greedy decoding, and the real sequence is untouched", async () => {
        const mask = maskOf(session.native.info.nLayer, identityLayers);
        const draft = await session.native.draft({ pending: [greedy[0]!], startPos: prompt.length, mask, maxTokens: 7, minConfidence: 0 });
        assert.deepEqual(draft.tokens, greedy.slice(1, 8));
        assert.equal(draft.confidence.length, draft.tokens.length);
        assert.equal(session.sequence.nextTokenIndex, prompt.length);
    });

    it("minConfidence stops the draft before the first token below it", async () => {
        const all = await session.native.draft({ pending: [greedy[0]!], startPos: prompt.length, mask: null, maxTokens: 7, minConfidence: 0 });
        const threshold = Math.min(...all.confidence.subarray(0, 3)) + 1e-6;
        const cut = await session.native.draft({ pending: [greedy[0]!], startPos: prompt.length, mask: null, maxTokens: 7, minConfidence: threshold });
        const expected = all.confidence.findIndex(c => c < threshold);
        assert.deepEqual(cut.tokens, all.tokens.slice(0, expected));
    });

    it("sampling with temperature is reproducible by seed and returns each step's full distribution", async () => {
        const options = { pending: [greedy[0]!], startPos: prompt.length, mask: maskOf(session.native.info.nLayer, identityLayers),
            maxTokens: 6, minConfidence: 0, temperature: 1.5, seed: 42, wantProbabilities: true };
        const a = await session.native.draft(options);
        const b = await session.native.draft(options);
        const c = await session.native.draft({ ...options, seed: 43 });
        assert.deepEqual(a.tokens, b.tokens);
        assert.equal(a.tokens.length, 6);
        assert.notDeepEqual([a.tokens, a.confidence], [c.tokens, c.confidence]);
        const nVocab = session.native.info.nVocab;
        assert.equal(a.probabilities?.length, a.tokens.length * nVocab);
        a.tokens.forEach((token, i) => {
            const row = a.probabilities!.subarray(i * nVocab, (i + 1) * nVocab);
            assert.ok(Math.abs(row.reduce((s, v) => s + v, 0) - 1) < 1e-4);
            assert.equal(row[token], a.confidence[i]);
        });
    });

    it("a native call leaves capture as JS set it for node-llama-cpp's next decode (its own decodes never capture)", async () => {
        const { native, sequence } = session;
        const draft = { startPos: prompt.length, mask: maskOf(native.info.nLayer, identityLayers), maxTokens: 3, minConfidence: 0 };
        await sequence.clearHistory();
        await sequence.evaluateWithoutGeneratingNewTokens(prompt);
        native.setCapture(true);
        try {
            await native.draft({ ...draft, pending: [greedy[0]!] });
            await sequence.evaluateWithoutGeneratingNewTokens([greedy[0]!]);
            assert.ok(native.readHiddenStates(prompt.length), "capture was on before the draft but off after it");
        } finally {
            native.setCapture(false);
        }
        await native.draft({ ...draft, startPos: prompt.length + 1, pending: [greedy[1]!] });
        await sequence.evaluateWithoutGeneratingNewTokens([greedy[1]!]);
        assert.equal(native.readHiddenStates(prompt.length + 1), null, "capture was off before the draft but on after it");
    });
});
