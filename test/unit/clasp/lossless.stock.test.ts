// The modes that need no native code (off, lookup, auto without layer skip) on the stock
// prebuilt binary: every output must equal plain greedy decoding token for token.
import assert from "node:assert/strict";
import type { Llama } from "node-llama-cpp";
import { defaultSpeculationSettings, type SpeculationMode } from "../../../src/engine/protocol.ts";
import { createSpeculativeDecoder } from "../../../src/engine/clasp/speculativeDecoder.ts";
import { decodePlain, decodeWith, openModel, testPrompts, stockLlama } from "./harness.ts";

const promptCount = 50;
const maxTokens = 24;

describe("speculative decoding without native code equals plain greedy decoding", function () {
    this.timeout(300_000);
    let llama: Llama;
    before(async () => { llama = await stockLlama(); });

    for (const fixture of ["rand", "redundant"] as const) {
        for (const mode of ["off", "lookup", "auto"] as SpeculationMode[]) {
            it(`${mode} on ${fixture}: ${promptCount} FIM and prefix-only prompts`, async () => {
                const open = await openModel(llama, fixture);
                try {
                    const decoder = createSpeculativeDecoder({ ...defaultSpeculationSettings, mode });
                    const prompts = testPrompts(open.model, promptCount);
                    assert.ok(prompts.some((p) => p.kind === "fim") && prompts.some((p) => p.kind === "prefix"));
                    let drafted = 0;
                    for (const [i, prompt] of prompts.entries()) {
                        const plain = await decodePlain(open.sequence, prompt, maxTokens);
                        const fast = await decodeWith(decoder, open.sequence, prompt, { maxTokens });
                        assert.deepEqual(fast.tokens, plain.tokens, `prompt ${i} (${prompt.kind}) differs`);
                        assert.equal(fast.outcome.end, plain.outcome.end, `prompt ${i} ends differently`);
                        drafted += fast.outcome.speculation?.draftedTokens ?? 0;
                    }
                    // lookup must actually have drafted, or this test would prove nothing about verification
                    if (mode === "lookup") assert.ok(drafted > 0, "no lookup draft was ever verified");
                } finally {
                    await open.dispose();
                }
            });
        }
    }
});
