// The decoder's timing wiring under a fake clock that advances only when the model evaluates
// tokens (a dear first step per evaluation, then one unit a token; a verify batch costs one unit
// per input), so the reported numbers are exact and no real time is measured.
import assert from "node:assert/strict";
import type { LlamaContextSequence } from "node-llama-cpp";
import { SpeculativeDecoder } from "../../../src/engine/clasp/speculativeDecoder.ts";
import { plainDecodeSteps } from "../../../src/engine/clasp/stats.ts";
import { defaultSpeculationSettings, type SpeculationMode } from "../../../src/engine/protocol.ts";
import { decodeWith, openModel, stockLlama, testPrompts, type OpenModel } from "./harness.ts";

const fixedMs = 3;
const stepMs = 1;

/** Makes `sequence`'s evaluations advance `clock` as they run; returns the clock. */
function tickingClock(sequence: LlamaContextSequence): { ms: number } {
    const clock = { ms: 0 };
    const evaluate = sequence.evaluate.bind(sequence);
    sequence.evaluate = ((tokens, options) => {
        const inner = evaluate(tokens, options);
        let first = true;
        const ticking: typeof inner = {
            next(...args) {
                clock.ms += first ? fixedMs : stepMs;
                first = false;
                return inner.next(...args);
            },
            return: (value) => inner.return(value),
            throw: (error) => inner.throw(error),
            [Symbol.asyncIterator]: () => ticking,
        };
        return ticking;
    }) as typeof sequence.evaluate;
    const controlledEvaluate = sequence.controlledEvaluate.bind(sequence);
    sequence.controlledEvaluate = ((input, options) => {
        clock.ms += stepMs * input.length;
        return controlledEvaluate(input, options);
    }) as typeof sequence.controlledEvaluate;
    return clock;
}

async function decodeTraffic(open: OpenModel, mode: SpeculationMode) {
    const clock = tickingClock(open.sequence);
    const decoder = new SpeculativeDecoder({ ...defaultSpeculationSettings, mode }, { now: () => clock.ms });
    const outcomes = [];
    for (const [i, prompt] of testPrompts(open.model, 8, 4).entries()) {
        const { outcome } = await decodeWith(decoder, open.sequence, prompt, { maxTokens: [16, 1, 5, 2, 12, 3, 1, 9][i]! });
        outcomes.push(outcome);
    }
    return { stats: decoder.stats(), outcomes, decoder };
}

describe("measured speedup under a fake clock (stock binary)", function () {
    this.timeout(120_000);
    let open: OpenModel;
    before(async () => {
        open = await openModel(await stockLlama(), "rand");
    });
    after(() => open.dispose());

    it("reads exactly 1.00× in off mode on short requests", async () => {
        const { stats } = await decodeTraffic(open, "off");
        assert.equal(stats.measuredSpeedup, 1);
        assert.equal(stats.plainTokensPerSecond, stats.tokensPerSecond);
    });

    it("learns plain decoding's fixed and per-step cost from auto's plain bursts", async () => {
        const { stats, outcomes } = await decodeTraffic(open, "auto");
        // what the fake clock charges plain decoding for each request's output
        const plainMs = outcomes.map((o) => fixedMs + stepMs * (plainDecodeSteps(o.generatedTokens, o.end) - 1));
        const tokens = outcomes.reduce((sum, o) => sum + o.generatedTokens, 0);
        assert.ok(Math.abs(stats.plainTokensPerSecond! - (tokens * 1000) / plainMs.reduce((a, b) => a + b, 0)) < 1e-6,
            `plain tokens/s ${stats.plainTokensPerSecond}`);
        assert.ok(stats.measuredSpeedup! > 0);
    });

    it("gives the controller plain decoding's per-step cost, the unit every draft is weighed in", async () => {
        // lookup verifies batches of two rows or more; its plain stretches are the only one-token steps it times
        const { decoder } = await decodeTraffic(open, "lookup");
        assert.equal(decoder.controller.verify.stepMs, stepMs);
    });
});
