// The engine ends a suggestion at the stop rule that ends it, here the single-line rule, and stops
// decoding there rather than trimming a longer answer afterwards. A trained model is used because
// the test needs a continuation that goes on past a line break: a random-weight fixture's greedy
// text rarely holds one, and which prompts give one changes with the CPU's kernels.
import assert from "node:assert/strict";
import { Engine } from "../../src/engine/engine.ts";
import { requireCachedModel } from "../../src/models/pinnedModels.ts";

describe("SmolLM2-135M: stop rules end decoding (real model)", function () {
    this.timeout(300_000);
    const engine = new Engine();
    before(() => engine.load({ modelPath: requireCachedModel("smollm2"), threads: 1, contextSize: 1024 }));
    after(() => engine.dispose());

    it("stops generating at the line break that ends a single-line suggestion", async () => {
        const prefix = "def fibonacci(n):\n    if n < 2:\n        return n\n";
        const request = { prefix, suffix: "", maxTokens: 64, maxLines: 1000, mode: "off" as const };
        const free = await engine.complete(request);
        const newline = free.text.indexOf("\n");
        assert.ok(newline >= 0 && free.text.trim().length > newline + 1,
            `the free continuation must go on past a line break: ${JSON.stringify(free.text)}`);
        const single = await engine.complete({ ...request, singleLine: true });
        assert.equal(single.stopReason, "singleLine");
        assert.ok(free.text.startsWith(single.text) && single.text.trimEnd() === free.text.slice(0, newline).trimEnd(),
            `the first line only: ${JSON.stringify(single.text)}`);
        assert.ok(single.generatedTokens < free.generatedTokens,
            `stopped early: ${single.generatedTokens} of ${free.generatedTokens} tokens`);
    });
});
