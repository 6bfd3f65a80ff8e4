// Speculative sampling with lookup drafts keeps exactly the model's distribution: the first two
// emitted tokens, over many seeds, against the exact joint distribution (chi-square, fixed seeds).
import { defaultSpeculationSettings } from "../../../src/engine/protocol.ts";
import { createSpeculativeDecoder } from "../../../src/engine/clasp/speculativeDecoder.ts";
import { openModel, stockLlama } from "./harness.ts";
import { assertSamplesFollow } from "./samplingCheck.ts";

describe("speculative sampling with lookup drafts", function () {
    this.timeout(300_000);

    it("emits the model's own distribution of the first two tokens (tiny vocabulary)", async () => {
        const open = await openModel(await stockLlama(), "tiny-vocab");
        try {
            const decoder = createSpeculativeDecoder({ ...defaultSpeculationSettings, mode: "lookup" });
            await assertSamplesFollow(open, decoder, { draws: 3000, temperature: 1.5, lookupDraftsBothTokens: true });
        } finally {
            await open.dispose();
        }
    });
});
