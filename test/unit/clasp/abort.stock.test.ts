import { defaultSpeculationSettings } from "../../../src/engine/protocol.ts";
import { createSpeculativeDecoder } from "../../../src/engine/clasp/speculativeDecoder.ts";
import { openModel, stockLlama } from "./harness.ts";
import { assertAbortLeavesSequenceConsistent } from "./abortCheck.ts";

describe("aborting a speculative request mid-round (stock binary)", function () {
    this.timeout(120_000);
    for (const mode of ["lookup", "auto"] as const) {
        it(`${mode}: later requests still equal plain decoding`, async () => {
            const open = await openModel(await stockLlama(), "rand");
            try {
                await assertAbortLeavesSequenceConsistent(open, () => createSpeculativeDecoder({ ...defaultSpeculationSettings, mode }));
            } finally {
                await open.dispose();
            }
        });
    }
});
