// Hidden-state capture: x_0..x_L of every row of a decode node-llama-cpp queued itself, checked against
// an independent float64 forward pass; the no-skip distribution is the reference model's.
import assert from "node:assert/strict";
import type { LlamaModel, Token } from "node-llama-cpp";
import { ensureFixture, fixturePresets } from "../../src/fixtures/index.ts";
import { distributions, loadFixtureModel, maskOf, maxAbsDiff, openSession, promptTokens, relativeDiff, type Session } from "./nativeHarness.ts";
import { loadReferenceModel, referenceHiddenStates, type ReferenceModel } from "./referenceForward.ts";

function referenceDistribution(reference: ReferenceModel, xL: Float64Array): Float64Array {
    let ss = 0;
    for (const v of xL) ss += v * v;
    const scale = 1 / Math.sqrt(ss / xL.length + reference.eps);
    const normed = xL.map((v, i) => v * scale * reference.outputNorm[i]!);
    const nVocab = reference.tokenEmbd.length / reference.nEmbd;
    // tied embeddings: the head is token_embd
    const logits = Array.from({ length: nVocab }, (_, t) => {
        let s = 0;
        for (let i = 0; i < reference.nEmbd; i++) s += reference.tokenEmbd[t * reference.nEmbd + i]! * normed[i]!;
        return s;
    });
    const max = Math.max(...logits);
    const exp = logits.map(l => Math.exp(l - max));
    const total = exp.reduce((a, b) => a + b, 0);
    return Float64Array.from(exp, e => e / total);
}

describe("native CLaSp: hidden-state capture", function () {
    let model: LlamaModel;
    let session: Session;
    let reference: ReferenceModel;
    let states: Float64Array[][];
    let prompt: Token[];

    before(async () => {
        model = await loadFixtureModel(fixturePresets.rand);
        session = await openSession(model, { exactKv: true });
        reference = await loadReferenceModel(await ensureFixture(fixturePresets.rand));
        prompt = promptTokens(model);
        states = referenceHiddenStates(reference, prompt);
    });
    after(async () => {
        await session?.context.dispose();
        await model?.dispose();
    });

    it("x_0..x_L of every prompt row match a float64 reference forward pass (<= 1e-5), read after node-llama-cpp's own decode", async () => {
        const { native, sequence } = session;
        await sequence.clearHistory();
        native.setCapture(true);
        await sequence.evaluateWithoutGeneratingNewTokens(prompt);
        native.setCapture(false);
        const { nLayer, nEmbd } = native.info;
        for (let pos = 0; pos < prompt.length; pos++) {
            const hidden = native.readHiddenStates(pos);
            assert.ok(hidden, `no captured states at position ${pos}`);
            assert.equal(hidden.length, (nLayer + 1) * nEmbd);
            for (let l = 0; l <= nLayer; l++) {
                const diff = relativeDiff(hidden.subarray(l * nEmbd, (l + 1) * nEmbd), states[pos]![l]!);
                assert.ok(diff <= 1e-5, `x_${l} at position ${pos}: relative diff ${diff}`);
            }
        }
    });

    it("no layers skipped: the next-token distributions are the reference model's (<= 1e-5)", async () => {
        const { native, sequence } = session;
        await sequence.clearHistory();
        const dists = await distributions(sequence, prompt, native.info.nVocab);
        dists.forEach((dist, pos) => {
            const diff = maxAbsDiff(dist, referenceDistribution(reference, states[pos]![reference.nLayer]!));
            assert.ok(diff <= 1e-5, `position ${pos}: max |diff| ${diff}`);
        });
    });

    it("returns null for a decode that did not capture and for a row outside the last batch", async () => {
        const { native, sequence } = session;
        await sequence.clearHistory();
        native.setCapture(true);
        await sequence.evaluateWithoutGeneratingNewTokens(prompt.slice(0, 4));
        assert.equal(native.readHiddenStates(10), null, "position 10 is not in the last batch");
        assert.ok(native.readHiddenStates(3));
        native.setCapture(false);
        await sequence.evaluateWithoutGeneratingNewTokens(prompt.slice(4, 6));
        assert.equal(native.readHiddenStates(5), null, "the last decode did not capture");
    });

    it("with layer k skipped, the captured x_{k+1} equals x_k bit for bit", async () => {
        const { native, sequence } = session;
        const { nLayer, nEmbd } = native.info;
        await sequence.clearHistory();
        assert.equal(native.setLayerSkip(maskOf(nLayer, [1, nLayer - 1])), true);
        native.setCapture(true);
        await sequence.evaluateWithoutGeneratingNewTokens(prompt);
        native.setCapture(false);
        native.setLayerSkip(null);
        const hidden = native.readHiddenStates(prompt.length - 1)!;
        const x = (l: number) => hidden.subarray(l * nEmbd, (l + 1) * nEmbd);
        assert.equal(maxAbsDiff(x(2), x(1)), 0);
        assert.equal(maxAbsDiff(x(nLayer), x(nLayer - 1)), 0);
        assert.ok(maxAbsDiff(x(1), x(0)) > 0, "a layer that ran must change the state");
    });
});

