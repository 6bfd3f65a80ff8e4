// Layer skip through the context mask: the unchanged no-skip path, skip{k} == the fixture whose layer k
// is zeroed on every supported architecture (graph reuse across mask changes included), refused masks.
import assert from "node:assert/strict";
import type { LlamaModel } from "node-llama-cpp";
import { FIXTURE_ARCHITECTURES, fixturePresets, type FixtureSpec } from "../../src/fixtures/index.ts";
import { supportsLayerSkip } from "../../src/engine/native/index.ts";
import { distributions, greedyWalk, loadFixtureModel, maskOf, maxAbsDiff, openSession, promptTokens } from "./nativeHarness.ts";

const GENERATED_STEPS = 3;

/** Prompt distributions (all rows) and a greedy walk that decodes single tokens on KV written under the mask. */
async function trace(model: LlamaModel, mask: Uint8Array | null) {
    const session = await openSession(model);
    try {
        const nVocab = session.native.info.nVocab;
        if (mask) assert.equal(session.native.setLayerSkip(mask), true, "the mask was refused");
        const prompt = promptTokens(model);
        const promptDists = await distributions(session.sequence, prompt.slice(0, -1), nVocab);
        const walk = await greedyWalk(session.sequence, [prompt.at(-1)!], GENERATED_STEPS, nVocab);
        return [...promptDists, ...walk.distributions];
    } finally {
        await session.context.dispose();
    }
}

function assertSameTraces(actual: Float64Array[], expected: Float64Array[], label: string) {
    assert.equal(actual.length, expected.length);
    const worst = Math.max(...actual.map((d, i) => maxAbsDiff(d, expected[i]!)));
    assert.ok(worst <= 1e-6, `${label}: max |diff| ${worst}`);
}

describe("native CLaSp: layer skip", function () {
    const disposables: LlamaModel[] = [];
    after(async () => { await Promise.all(disposables.map(m => m.dispose())); });
    const load = async (spec: FixtureSpec) => { const m = await loadFixtureModel(spec); disposables.push(m); return m; };

    it("no layers skipped: identical to a context that never used CLaSp, bit for bit, after masks and capture were toggled", async () => {
        const model = await load(fixturePresets.rand);
        const untouched = await trace(model, null);

        const session = await openSession(model);
        try {
            const { native, sequence } = session;
            const nVocab = native.info.nVocab;
            const prompt = promptTokens(model);
            // same-shape decodes with a mask and with capture first, so a stale reused graph would show
            assert.equal(native.setLayerSkip(maskOf(native.info.nLayer, [1])), true);
            native.setCapture(true);
            await distributions(sequence, prompt.slice(0, -1), nVocab);
            await sequence.clearHistory();
            assert.equal(native.setLayerSkip(null), true);
            native.setCapture(false);
            assert.deepEqual([...native.getLayerSkip()], new Array(native.info.nLayer).fill(0));
            const promptDists = await distributions(sequence, prompt.slice(0, -1), nVocab);
            const walk = await greedyWalk(sequence, [prompt.at(-1)!], GENERATED_STEPS, nVocab);
            const again = [...promptDists, ...walk.distributions];
            assert.equal(Math.max(...again.map((d, i) => maxAbsDiff(d, untouched[i]!))), 0);
        } finally {
            await session.context.dispose();
        }
    });

    for (const arch of FIXTURE_ARCHITECTURES) {
        it(`${arch}: skipping layer k equals the fixture with layer k zeroed, for every k including the last`, async () => {
            const spec: FixtureSpec = { ...fixturePresets.rand, arch };
            const model = await load(spec);
            assert.equal(supportsLayerSkip(model), true);
            const nLayer = spec.layers!;
            // one context for every k: equal batch shapes, so a graph reused across mask changes would fail this
            const session = await openSession(model);
            try {
                const nVocab = session.native.info.nVocab;
                const prompt = promptTokens(model);
                for (let k = 0; k < nLayer; k++) {
                    await session.sequence.clearHistory();
                    assert.equal(session.native.setLayerSkip(maskOf(nLayer, [k])), true);
                    const skipped = [
                        ...await distributions(session.sequence, prompt.slice(0, -1), nVocab),
                        ...(await greedyWalk(session.sequence, [prompt.at(-1)!], GENERATED_STEPS, nVocab)).distributions,
                    ];
                    const zeroed = await load({ ...spec, identityLayers: [k] });
                    assertSameTraces(skipped, await trace(zeroed, null), `${arch} skip{${k}}`);
                }
            } finally {
                await session.context.dispose();
            }
        });
    }

    it("refuses a mask that skips every layer or has the wrong length, and reads the mask back", async () => {
        const model = await load(fixturePresets.rand);
        const session = await openSession(model);
        try {
            const { native } = session;
            const nLayer = native.info.nLayer;
            assert.equal(native.setLayerSkip(new Uint8Array(nLayer).fill(1)), false);
            assert.throws(() => native.setLayerSkip(new Uint8Array(nLayer + 1)), /mask length must equal the layer count/);
            assert.equal(native.setLayerSkip(maskOf(nLayer, [0, 3])), true);
            assert.deepEqual([...native.getLayerSkip()], [...maskOf(nLayer, [0, 3])]);
            assert.equal(native.setLayerSkip(null), true);
        } finally {
            await session.context.dispose();
        }
    });
});
