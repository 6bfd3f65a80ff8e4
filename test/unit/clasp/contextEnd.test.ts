// Decoding into the end of a small context: speculation must back off before the context shifts,
// and the output must still equal plain decoding (which shifts the context the same way).
import assert from "node:assert/strict";
import { defaultSpeculationSettings } from "../../../src/engine/protocol.ts";
import { createSpeculativeDecoder } from "../../../src/engine/clasp/speculativeDecoder.ts";
import { decodePlain, decodeWith, openNativeModel, testPrompts } from "./harness.ts";

describe("speculative decoding at the end of the context (CLaSp-patched build)", function () {
    this.timeout(300_000);
    for (const mode of ["lookup", "clasp", "hybrid", "auto"] as const) {
        it(`${mode} equals plain decoding across a context shift`, async () => {
            const open = await openNativeModel("redundant", 96);
            try {
                const decoder = createSpeculativeDecoder({ ...defaultSpeculationSettings, mode, updateInterval: 4 }, { native: open.native });
                let crossed = 0;
                for (const [i, prompt] of testPrompts(open.model, 4, 11).entries()) {
                    const plain = await decodePlain(open.sequence, prompt, 120);
                    const fast = await decodeWith(decoder, open.sequence, prompt, { maxTokens: 120 });
                    if (prompt.tokens.length + plain.tokens.length > 96) crossed++;
                    assert.deepEqual(fast.tokens, plain.tokens, `prompt ${i} differs`);
                }
                assert.ok(crossed > 0, "no prompt ran past the end of the context");
            } finally {
                await open.dispose();
            }
        });
    }
});
