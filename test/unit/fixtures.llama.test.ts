// The generated fixtures, loaded and run by node-llama-cpp (CPU, 1 thread).
import assert from "node:assert/strict";
import { getLlama, type Llama, type LlamaModel, type Token } from "node-llama-cpp";
import { ensureFixture, fixturePresets, withIdentityLayersRemoved, type FixturePresetName, type FixtureSpec } from "../../src/fixtures/index.ts";

interface Step {
    token: Token;
    probabilities: Map<Token, number>;
}

/**
 * Greedy continuation of `prompt`, with the full next-token distribution at every step. Uses
 * controlledEvaluate so an end-of-generation token does not end the walk: random weights pick
 * one now and then, and the tests want a fixed number of steps.
 */
async function greedy(model: LlamaModel, prompt: Token[], steps: number): Promise<Step[]> {
    const context = await model.createContext({ contextSize: 128, threads: 1 });
    try {
        const sequence = context.getSequence();
        const out: Step[] = [];
        let input: Token[] = prompt;
        while (out.length < steps) {
            const last = input.at(-1)!;
            const generate = { generateNext: { token: true, probabilities: true, options: { temperature: 0 } } };
            const results = await sequence.controlledEvaluate([...input.slice(0, -1), [last, generate]]);
            const next = results.at(-1)?.next;
            if (next?.token == null || !next.probabilities) throw new Error("controlledEvaluate returned no next token");
            out.push({ token: next.token, probabilities: next.probabilities });
            input = [next.token];
        }
        return out;
    } finally {
        await context.dispose();
    }
}

describe("fixtures: loading and generating with node-llama-cpp", function () {
    this.timeout(120_000);
    let llama: Llama;
    const loaded: LlamaModel[] = [];
    const load = async (fixture: FixturePresetName | FixtureSpec) => {
        const model = await llama.loadModel({ modelPath: await ensureFixture(fixture) });
        loaded.push(model);
        return model;
    };

    before(async () => { llama = await getLlama({ gpu: false, logLevel: "error" as never }); });
    after(async () => { for (const model of loaded) await model.dispose(); });

    const presets: [FixturePresetName, string][] = [
        ["rand", "llama"], ["nofim", "llama"], ["redundant", "llama"], ["scaled", "llama"], ["wide", "llama"],
        ["tiny-vocab", "llama"], ["llama3-vocab", "llama"],
        ["qwen2", "qwen2"], ["qwen3", "qwen3"], ["mistral3", "mistral3"], ["granite", "granite"],
    ];
    for (const [preset, arch] of presets) {
        it(`loads ${preset} as ${arch} and generates from it`, async () => {
            const model = await load(preset);
            assert.equal(model.fileInfo.metadata.general.architecture, arch);
            const steps = await greedy(model, model.tokenize("some test text"), 6);
            assert.equal(steps.length, 6);
            const vocabSize = model.fileInfo.metadata.tokenizer.ggml.tokens.length;
            for (const step of steps) {
                assert.ok(step.token >= 0 && step.token < vocabSize);
                const total = [...step.probabilities.values()].reduce((a, b) => a + b, 0);
                assert.ok(Math.abs(total - 1) < 1e-3, `probabilities sum to ${total}`);
                // Random weights with std 0.3 must give a peaked, not a flat, distribution.
                let top = 0;
                for (const p of step.probabilities.values()) top = Math.max(top, p);
                assert.ok(top > 2 / vocabSize, `top probability ${top}`);
            }
        });
    }

    it("resolves the FIM tokens of FIM fixtures and none for nofim", async () => {
        const rand = await load("rand");
        assert.deepEqual([rand.tokens.infill.prefix, rand.tokens.infill.suffix, rand.tokens.infill.middle], [259, 260, 261]);
        assert.equal(rand.tokens.infill.prefixString, "<|fim_prefix|>");
        const nofim = await load("nofim");
        assert.equal(nofim.tokens.infill.prefix ?? undefined, undefined);
        assert.equal(nofim.tokens.infill.suffix ?? undefined, undefined);
        assert.equal(nofim.tokens.infill.middle ?? undefined, undefined);
    });

    it("round-trips code text exactly through the byte vocabulary", async () => {
        const model = await load("rand");
        const texts = ["a ?? b", "x . y , z", "if (a) {\n\treturn b?.c ?? d;\r\n}", "  const s = `${x}` + 'ü→日本';", "foo( bar ) ;"];
        for (const text of texts) {
            const tokens = model.tokenize(text);
            assert.ok(tokens.length > 1);
            assert.equal(model.detokenize(tokens), text);
        }
    });

    it("keeps LLaMA-3's original llama-bpe settings (which clean spaces on detokenize)", async () => {
        const model = await load("llama3-vocab");
        assert.equal(model.tokens.bos, 128000);
        assert.equal(model.detokenize(model.tokenize("x . y , z")), "x. y, z");
    });

    it("enumerates the whole 12-token distribution of the tiny vocabulary", async () => {
        const model = await load("tiny-vocab");
        assert.ok(!model.getWarnings().some(w => w.includes("detokenize")), model.getWarnings().join("\n"));
        assert.equal(model.detokenize(model.tokenize("some test text here")), "some test text here");
        const [first] = await greedy(model, model.tokenize("the rest"), 1);
        assert.deepEqual([...first!.probabilities.keys()].sort((a, b) => a - b), Array.from({ length: 12 }, (_, i) => i));
    });

    /** Greedy tokens must match and every probability agree, step by step. */
    const assertSameOutputs = (actual: Step[], expected: Step[]) => {
        assert.deepEqual(actual.map(s => s.token), expected.map(s => s.token));
        expected.forEach((step, i) => {
            for (const [token, p] of step.probabilities)
                assert.ok(Math.abs(p - (actual[i]!.probabilities.get(token) ?? 0)) < 1e-5, `step ${i} token ${token}`);
        });
    };
    const codePrompt = (m: LlamaModel) => m.tokenize("function add(a, b) {\n  return a + b;\n}\n");

    it("gives the identity-layer model and its removed-layers twin identical outputs", async () => {
        const full = await load("redundant");
        const withIdentities = await greedy(full, codePrompt(full), 16);
        const twin = await load("redundant-removed");
        assertSameOutputs(await greedy(twin, codePrompt(twin), 16), withIdentities);

        // The oracle is not vacuous: removing a layer that does work changes the output.
        const broken = await load({ ...fixturePresets.redundant, removeLayers: [3] });
        const [changed] = await greedy(broken, codePrompt(broken), 1);
        let maxDiff = 0;
        for (const [token, p] of changed!.probabilities) maxDiff = Math.max(maxDiff, Math.abs(p - withIdentities[0]!.probabilities.get(token)!));
        assert.ok(maxDiff > 1e-3, `removing a working layer changed probabilities by only ${maxDiff}`);
    });

    // The format tests decode with our own decoder; here llama.cpp does, so a symmetric encoding bug shows.
    it("runs F16 and Q8_0 weights as close to their F32 originals, unlike a reseeded model", async () => {
        const maxDifference = (a: Map<Token, number>, b: Map<Token, number>) =>
            Math.max(...[...new Set([...a.keys(), ...b.keys()])].map(t => Math.abs((a.get(t) ?? 0) - (b.get(t) ?? 0))));
        const firstStep = async (spec: FixtureSpec) => {
            const model = await load(spec);
            return (await greedy(model, codePrompt(model), 1))[0]!.probabilities;
        };
        const reference = await firstStep(fixturePresets.rand);
        assert.ok(maxDifference(await firstStep({ ...fixturePresets.rand, tensorType: "F16" }), reference) < 0.01);
        assert.ok(maxDifference(await firstStep({ ...fixturePresets.rand, tensorType: "Q8_0" }), reference) < 0.05);
        assert.ok(maxDifference(await firstStep({ ...fixturePresets.rand, seed: 99 }), reference) > 0.1);
    });

    for (const arch of ["qwen2", "qwen3", "mistral3", "granite"] as const) {
        it(`makes a zeroed ${arch} layer an exact identity too`, async () => {
            const zeroed = { ...fixturePresets[arch], identityLayers: [1] };
            const full = await load(zeroed);
            const twin = await load(withIdentityLayersRemoved(zeroed));
            assertSameOutputs(await greedy(twin, codePrompt(twin), 8), await greedy(full, codePrompt(full), 8));
        });
    }
});
