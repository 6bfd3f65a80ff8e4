// KV reuse on a keystroke with a real tokenizer (SmolLM2's 49k-token BPE, prefix-only layout): typing
// on the cursor line re-evaluates only that line's tokens, also when the prefix is long enough that
// the prompt window is trimmed. A BPE merge across the cursor line's start, or a window that moves
// with every keystroke, would re-evaluate hundreds of tokens per keystroke instead.
import assert from "node:assert/strict";
import { heldOutPrompts } from "../../bench/heldOutPrompts.ts";
import { Engine } from "../../src/engine/engine.ts";
import { requireCachedModel } from "../../src/models/pinnedModels.ts";

describe("SmolLM2-135M: KV reuse while typing on the cursor line (real tokenizer)", function () {
    this.timeout(600_000);
    const engine = new Engine();
    before(() => engine.load({ modelPath: requireCachedModel("smollm2"), threads: 1, contextSize: 1024 }));
    after(() => engine.dispose());

    it("re-evaluates at most the cursor line's tokens on each keystroke, trimmed window included", async () => {
        let trimmed = 0;
        for (const cut of heldOutPrompts(4, 300)) {
            // What the user types: the held-out line that follows, one character per keystroke.
            const line = cut.middle.split("\n")[0]!;
            const typed = line.slice(0, Math.min(line.length, 10));
            assert.ok(typed.length >= 3, `${cut.file}: the held-out line ${JSON.stringify(line)} is too short to type`);
            const complete = (cursorLine: string) =>
                engine.complete({ prefix: cut.prefix + cursorLine, suffix: cut.suffix, maxTokens: 1, maxLines: 1, mode: "off" });
            const first = await complete(typed.slice(0, 1));
            assert.equal(first.usedFim, false, "SmolLM2 has no FIM tokens");
            if (first.timings.promptTokens < cut.prefix.length / 8) trimmed++;
            for (let length = 2; length <= typed.length; length++) {
                const { timings } = await complete(typed.slice(0, length));
                const reEvaluated = timings.promptTokens - timings.reusedTokens;
                // A line of n characters has at most n tokens; one more covers the token that ends the line above.
                assert.ok(reEvaluated <= length + 1,
                    `${cut.file}, ${JSON.stringify(typed.slice(0, length))}: re-evaluated ${reEvaluated} of ${timings.promptTokens} prompt tokens`);
                assert.ok(timings.reusedTokens >= timings.promptTokens - length - 1 && timings.reusedTokens > 100,
                    `${cut.file}: reused only ${timings.reusedTokens} of ${timings.promptTokens}`);
            }
        }
        assert.ok(trimmed > 0, "no prompt was long enough to be trimmed: the window's stability went untested");
    });
});
