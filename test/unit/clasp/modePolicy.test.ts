// The mode policy's round plans, on measured costs: `hybrid` copies where prompt lookup matches and
// drafts with skipped layers elsewhere only while that is measured to pay. No native code.
import assert from "node:assert/strict";
import type { Token } from "node-llama-cpp";
import { ModePolicy } from "../../../src/engine/clasp/modePolicy.ts";
import { PromptLookup } from "../../../src/engine/clasp/promptLookup.ts";
import { defaultSpeculationSettings, type SpeculationMode } from "../../../src/engine/protocol.ts";

const layers = 8;
const skipCount = 4; // skip ratio 0.5 of 8 layers

/** A policy whose controller measured verify batches at `verify(n)` ms and layer-skip drafts at `draftMs` per token, accepted as `kept` of 4. */
function measuredPolicy(mode: SpeculationMode, verify: (n: number) => number, draftMs: number, kept: number): ModePolicy {
    const policy = new ModePolicy({ ...defaultSpeculationSettings, mode }, layers);
    const controller = policy.controller;
    for (let n = 1; n <= 9; n++) for (let i = 0; i < 5; i++) controller.recordVerify(n, verify(n));
    controller.recordDraft(skipCount, 4, 4 * draftMs);
    for (let i = 0; i < 50; i++) controller.recordRound("layerSkip", skipCount, 4, kept);
    // the request's first round runs the DP (not in lookup mode); afterwards its skip set is usable
    policy.beginRequest();
    const first = policy.plan({ cap: 8, layerSkipFits: true, calibrationDue: false });
    assert.equal(first.dp?.atPending, mode === "lookup" ? undefined : true, "the request's first round ran no DP");
    const mask = Uint8Array.from({ length: layers }, (_, i) => (i % 2));
    policy.afterRound(first, { draft: [], accepted: 0, next: 1 as Token, mask, draftMs: 0, verifyMs: verify(1), dpMs: 5 });
    return policy;
}

const noMatch = () => new PromptLookup([1, 2, 3, 4] as Token[]);
function matching(): PromptLookup {
    const lookup = new PromptLookup([7, 8, 9, 10, 11, 12] as Token[]);
    lookup.push([7, 8] as Token[]);
    return lookup;
}

describe("mode policy", () => {
    it("hybrid decodes plainly, not with layer-skip drafts, where verification costs as much as the batch is long", () => {
        const policy = measuredPolicy("hybrid", (n) => 100 * n, 55, 3);
        const plan = policy.plan({ cap: 8, layerSkipFits: true, lookup: noMatch(), calibrationDue: false });
        assert.equal(plan.source, "none");
        assert.equal(plan.dp, undefined);
        // where lookup matches it still copies
        assert.equal(policy.plan({ cap: 8, layerSkipFits: true, lookup: matching(), calibrationDue: false }).source, "lookup");
        // clasp is asked for layer skip and keeps drafting
        const clasp = measuredPolicy("clasp", (n) => 100 * n, 55, 3);
        assert.equal(clasp.plan({ cap: 8, layerSkipFits: true, calibrationDue: false }).source, "layerSkip");
    });

    it("auto ends a plain stretch only for a lookup match it would draft; lookup ends it at any match", () => {
        const verify = (n: number) => 100 + 60 * (n - 1);
        const afterMatchOf = (length: number) => {
            const lookup = new PromptLookup(Array.from({ length: 12 }, (_, i) => (i + 1) as Token));
            lookup.push(Array.from({ length }, (_, i) => (i + 8 - length + 1) as Token));
            assert.equal(lookup.propose(4).matchLength, length);
            return lookup;
        };
        for (const mode of ["auto", "lookup"] as const) {
            const policy = measuredPolicy(mode, verify, 55, 0);
            // copies after 2-token matches were always wrong, after 8-token matches always right
            for (let i = 0; i < 50; i++) {
                policy.controller.recordRound("lookup", 0, 4, 0, 2);
                policy.controller.recordRound("lookup", 0, 4, 4, 8);
            }
            assert.equal(policy.lookupReady(afterMatchOf(2), 8), mode === "lookup", `${mode} after a 2-token match`);
            assert.equal(policy.lookupReady(afterMatchOf(8), 8), true, `${mode} after an 8-token match`);
            assert.equal(policy.lookupReady(noMatch(), 8), false);
        }
    });

    it("hybrid drafts with skipped layers where verification is nearly free and drafts are kept", () => {
        const policy = measuredPolicy("hybrid", (n) => 100 + 5 * n, 30, 4);
        const plan = policy.plan({ cap: 8, layerSkipFits: true, lookup: noMatch(), calibrationDue: false });
        assert.equal(plan.source, "layerSkip");
        assert.equal(plan.gamma, 8);
    });
});
