// When the layer-skip drafter re-runs the DP: after prefill, every `updateInterval` rounds, and
// early when acceptance falls well below what it was right after the last DP. No native code:
// a stand-in returns fixed hidden states and masks.
import assert from "node:assert/strict";
import type { Token } from "node-llama-cpp";
import type { ClaspNative } from "../../../src/engine/native/index.ts";
import { LayerSkipDrafter, truncatedDistribution } from "../../../src/engine/clasp/layerSkipDrafter.ts";

function standIn(layers = 8): { native: ClaspNative; optimized: number[] } {
    const optimized: number[] = [];
    const native = {
        info: { supported: true, nLayer: layers, nEmbd: 4, nVocab: 16, patchVersion: 1, kvUnified: true, architecture: "llama" },
        readHiddenStates: (pos: number) => (pos >= 0 ? new Float32Array((layers + 1) * 4) : null),
        optimize: async (pos: number, _hidden: Float32Array, numSkip: number) => {
            optimized.push(pos);
            const mask = new Uint8Array(layers);
            mask.fill(1, 0, numSkip);
            return { mask, cosine: 1, ms: 1 };
        },
    } as unknown as ClaspNative;
    return { native, optimized };
}

describe("layer-skip DP schedule", () => {
    it("runs the DP first, then every updateInterval rounds", async () => {
        const { native, optimized } = standIn();
        const drafter = new LayerSkipDrafter(native, { skipCount: 3, updateInterval: 4 });
        assert.equal(drafter.dpDue, true);
        assert.equal(await drafter.optimize(10), 1);
        assert.deepEqual(drafter.skipSet, [0, 1, 2]);
        for (let i = 0; i < 3; i++) {
            drafter.noteRound(4, 4);
            assert.equal(drafter.dpDue, false);
        }
        drafter.noteRound(4, 4);
        assert.equal(drafter.dpDue, true);
        assert.equal(await drafter.optimize(-1), null, "nothing captured: no DP");
        assert.deepEqual(optimized, [10]);
    });

    it("re-runs the DP early when acceptance drops well below its level after the last DP", async () => {
        const { native } = standIn();
        const drafter = new LayerSkipDrafter(native, { skipCount: 2, updateInterval: 100 });
        await drafter.optimize(0);
        for (let i = 0; i < 8; i++) drafter.noteRound(4, 4);
        assert.equal(drafter.dpDue, false);
        for (let i = 0; i < 6; i++) drafter.noteRound(4, 0);
        assert.equal(drafter.dpDue, true);
    });

    it("never re-selects a static skip set, and refuses bad skip counts and masks", () => {
        const { native } = standIn(4);
        const drafter = new LayerSkipDrafter(native, { skipCount: 2, updateInterval: 1, staticMask: Uint8Array.from([0, 1, 1, 0]) });
        assert.equal(drafter.dpDue, false);
        assert.deepEqual(drafter.skipSet, [1, 2]);
        assert.throws(() => new LayerSkipDrafter(native, { skipCount: 4, updateInterval: 1 }), /skip count must be within 1..3/);
        assert.throws(() => new LayerSkipDrafter(native, { skipCount: 1, updateInterval: 1, staticMask: new Uint8Array(3) }), /3 entries/);
    });

    it("renormalizes the draft distribution over the tokens the confidence exit lets through", () => {
        const q = Float32Array.from([0.5, 0.3, 0.2]);
        const token = (id: number) => id as Token;
        const full = truncatedDistribution(q, 0);
        assert.equal(full(token(2)), q[2]);
        const truncated = truncatedDistribution(q, 0.3);
        assert.ok(Math.abs(truncated(token(0)) - 0.5 / 0.8) < 1e-6);
        assert.ok(Math.abs(truncated(token(1)) - Math.fround(0.3) / Math.fround(0.8)) < 1e-6);
        assert.equal(truncated(token(2)), 0);
    });
});
