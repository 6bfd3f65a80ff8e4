// Clear errors: missing or stale build, unpatched binary, unsupported architecture or context, bad arguments.
import assert from "node:assert/strict";
import type { Llama, LlamaModel, Token } from "node-llama-cpp";
import { fixturePresets } from "../../src/fixtures/index.ts";
import { claspBindingsOf } from "../../src/engine/native/bindings.ts";
import {
    CLASP_PATCH_VERSION, ClaspArgumentError, ClaspBuildMissingError, ClaspUnsupportedError, createClaspNative, loadClaspLlama, supportsLayerSkip,
} from "../../src/engine/native/index.ts";
import { ensureUnsupportedArchitectureModel } from "./foreignArchitecture.ts";
import { loadFixtureModel, openSession, patchedLlama, promptTokens, type Session } from "./nativeHarness.ts";

describe("native CLaSp: clear errors", function () {
    it("a missing or stale build fails with a message naming `npm run build:native`", async () => {
        // node-llama-cpp merges NODE_LLAMA_CPP_CMAKE_OPTION_* into the requested options: this asks for another tag
        const previous = process.env.NODE_LLAMA_CPP_CMAKE_OPTION_NLC_CLASP;
        process.env.NODE_LLAMA_CPP_CMAKE_OPTION_NLC_CLASP = "999999";
        try {
            await assert.rejects(loadClaspLlama(), (error: unknown) =>
                error instanceof ClaspBuildMissingError && /npm run build:native/.test(error.message));
        } finally {
            if (previous === undefined) delete process.env.NODE_LLAMA_CPP_CMAKE_OPTION_NLC_CLASP;
            else process.env.NODE_LLAMA_CPP_CMAKE_OPTION_NLC_CLASP = previous;
        }
    });

    it("an unpatched binary is refused, never used", () => {
        const unpatched = { _bindings: { getGpuType: () => false } } as unknown as Llama;
        assert.throws(() => claspBindingsOf(unpatched), (error: unknown) =>
            error instanceof ClaspBuildMissingError && /not the CLaSp-patched build/.test(error.message) && /npm run build:native/.test(error.message));
    });

    it("a patched binary of another patch version is refused, naming both versions", async () => {
        const real = (await patchedLlama() as unknown as { _bindings: object })._bindings;
        // the addon's exports are non-enumerable: inherit them and shadow only the version
        const stale = { _bindings: Object.create(real, { claspPatchVersion: { value: CLASP_PATCH_VERSION + 1 } }) } as unknown as Llama;
        assert.throws(() => claspBindingsOf(stale), (error: unknown) => error instanceof ClaspBuildMissingError &&
            error.message.includes(`patch version ${CLASP_PATCH_VERSION + 1}, this code needs ${CLASP_PATCH_VERSION}`));
    });

    it("an unsupported architecture: supportsLayerSkip is false and createClaspNative throws a clear error", async () => {
        const llama = await patchedLlama();
        const model = await llama.loadModel({ modelPath: await ensureUnsupportedArchitectureModel(), gpuLayers: 0 });
        const context = await model.createContext({ contextSize: 128, sequences: 1, threads: 1 });
        try {
            assert.equal(supportsLayerSkip(model), false);
            assert.throws(() => createClaspNative(context, context.getSequence()),
                (error: unknown) => error instanceof ClaspUnsupportedError && /not supported for the "ernie4_5" architecture/.test(error.message));
        } finally {
            await context.dispose();
            await model.dispose();
        }
    });

    describe("bad arguments", () => {
        let model: LlamaModel;
        let session: Session;
        let hidden: Float32Array;
        before(async () => {
            model = await loadFixtureModel(fixturePresets.rand);
            session = await openSession(model);
            session.native.setCapture(true);
            await session.sequence.evaluateWithoutGeneratingNewTokens(promptTokens(model));
            session.native.setCapture(false);
            hidden = session.native.readHiddenStates(0)!;
        });
        after(async () => {
            await session?.context.dispose();
            await model?.dispose();
        });
        const draft = { pending: [1], startPos: 3, mask: null, maxTokens: 2, minConfidence: 0 };

        it("draft: empty or out-of-vocabulary pending tokens, wrong mask length, bad numbers", async () => {
            const { native } = session;
            await assert.rejects(native.draft({ ...draft, pending: [] }), ClaspArgumentError);
            await assert.rejects(native.draft({ ...draft, pending: [-1] }), ClaspArgumentError);
            await assert.rejects(native.draft({ ...draft, pending: [native.info.nVocab] }), ClaspArgumentError);
            await assert.rejects(native.draft({ ...draft, mask: new Uint8Array(2) }), /mask length must equal the layer count/);
            await assert.rejects(native.draft({ ...draft, mask: new Uint8Array(native.info.nLayer).fill(1) }), /mask was refused/);
            await assert.rejects(native.draft({ ...draft, maxTokens: -1 }), /maxTokens must be an integer/);
            await assert.rejects(native.draft({ ...draft, minConfidence: 2 }), /minConfidence must be a number in \[0, 1\]/);
            await assert.rejects(native.draft({ ...draft, startPos: 1e9 }), /startPos must be an integer position inside the context/);
            await assert.rejects(native.draft({ ...draft, temperature: Number.NaN }), /temperature must be a finite number/);
        });

        it("optimize and layer evaluation: numSkip, hidden size, layer index, candidate size, position", async () => {
            const { native } = session;
            const { nLayer, nEmbd } = native.info;
            await assert.rejects(native.optimize(0, hidden, nLayer), /numSkip must be an integer in \[0, nLayer - 1\]/);
            await assert.rejects(native.optimize(0, hidden.subarray(1), 1), /hidden/);
            await assert.rejects(native.optimize(-1, hidden, 1), /pos must be an integer position/);
            await assert.rejects(native.evalLayerCandidates(0, nLayer, hidden.slice(0, nEmbd)), /layer must be an integer/);
            await assert.rejects(native.evalLayerCandidates(0, 0, hidden.slice(0, nEmbd - 1)), /candidates must hold/);
            assert.throws(() => native.setCapture("yes" as unknown as boolean), /setCapture expects a boolean/);
        });

        it("round: a start that is not the sequence's end, bad tokens, a proposal and a draft at once, numSkip, the context's end", async () => {
            const { native, sequence } = session;
            const end = sequence.nextTokenIndex;
            const round = { pending: 1 as Token, startPos: end };
            await assert.rejects(native.round({ ...round, startPos: end - 1 }), (error: unknown) =>
                error instanceof ClaspArgumentError && /must start at the sequence's end/.test(error.message));
            await assert.rejects(native.round({ ...round, proposal: [native.info.nVocab as Token] }), ClaspArgumentError);
            await assert.rejects(native.round({ ...round, proposal: [1 as Token], layerSkip: { mask: new Uint8Array(native.info.nLayer), maxTokens: 1, minConfidence: 0 } }),
                ClaspArgumentError);
            await assert.rejects(native.round({ ...round, dp: { numSkip: native.info.nLayer } }), /numSkip must be an integer/);
            await assert.rejects(native.round({ ...round, proposal: Array.from({ length: 256 }, () => 1 as Token) }), /past the context size/);
            await assert.rejects(native.round({ ...round, sampling: { temperature: -1 } }), /temperature must be a number/);
            // nothing of the refused rounds reached the sequence
            assert.equal(sequence.nextTokenIndex, end);
        });
    });
});
