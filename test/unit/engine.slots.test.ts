// A shared engine keeps one KV-cache sequence per window: switching windows must not re-evaluate
// the other window's prompt, and speculation in one window stays exactly plain greedy decoding
// while the other windows' tokens sit in the same KV cache.
import assert from "node:assert/strict";
import { Engine } from "../../src/engine/engine.ts";
import { SequencePool } from "../../src/engine/sequencePool.ts";
import { ensureFixture } from "../../src/fixtures/index.ts";
import type { CompletionRequest } from "../../src/engine/protocol.ts";

describe("sequence pool: one KV-cache sequence per caller", () => {
    it("keeps each owner's sequence, hands out free ones first, then the least recently used owner's", () => {
        const pool = new SequencePool(["s0", "s1"]);
        assert.equal(pool.take("A"), "s0");
        assert.equal(pool.take("B"), "s1");
        assert.equal(pool.take("A"), "s0");
        // B is now the least recently used
        assert.equal(pool.take("C"), "s1");
        assert.equal(pool.take("A"), "s0");
        assert.equal(pool.take("B"), "s1", "B lost its sequence to C; C is now the least recent");
    });

    it("a released owner's sequence goes to the next new owner without evicting anyone", () => {
        const pool = new SequencePool(["s0", "s1"]);
        pool.take("A");
        pool.take("B");
        pool.release("A");
        pool.release("nobody");
        assert.equal(pool.take("C"), "s0");
        assert.equal(pool.take("B"), "s1");
    });

    it("refuses an empty pool", () => {
        assert.throws(() => new SequencePool([]), /at least one sequence/);
    });
});

/** A prompt of about `lines` distinct lines, so its KV cache is worth keeping. */
function fileOf(name: string, lines: number): string {
    return Array.from({ length: lines }, (_, i) => `const ${name}${i} = ${name}${i - 1} + ${i * 7};\n`).join("");
}

describe("engine slots: per-window KV reuse and exactness (fixtures)", function () {
    this.timeout(300_000);
    const windowA = fileOf("alpha", 24);
    const windowB = fileOf("beta", 24);
    const request = (prefix: string, mode: CompletionRequest["mode"] = "off"): CompletionRequest => ({ prefix, suffix: "", maxTokens: 12, maxLines: 100, mode });

    /** Alternates A, B, A + one keystroke, B + one keystroke; returns the last two requests' reuse. */
    async function alternate(engine: Engine, slotA: string, slotB: string) {
        await engine.complete(request(windowA), undefined, slotA);
        await engine.complete(request(windowB), undefined, slotB);
        const a = await engine.complete(request(windowA + "c"), undefined, slotA);
        const b = await engine.complete(request(windowB + "c"), undefined, slotB);
        return [a.timings, b.timings];
    }

    it("two windows alternating each reuse their own prompt; sharing one sequence re-evaluates it", async () => {
        const modelPath = await ensureFixture("rand");
        const shared = new Engine({ slots: 2 });
        const single = new Engine({ slots: 1 });
        try {
            await shared.load({ modelPath, threads: 1, gpu: "cpu" });
            await single.load({ modelPath, threads: 1, gpu: "cpu" });
            for (const timings of await alternate(shared, "A", "B"))
                assert.ok(timings.reusedTokens >= timings.promptTokens - 4,
                    `with a sequence per window only the keystroke should be evaluated: reused ${timings.reusedTokens} of ${timings.promptTokens}`);
            for (const timings of await alternate(single, "A", "B"))
                assert.ok(timings.reusedTokens < timings.promptTokens / 2,
                    `one sequence for both windows cannot keep both prompts: reused ${timings.reusedTokens} of ${timings.promptTokens}`);
        } finally {
            await shared.dispose();
            await single.dispose();
        }
    });

    it("clasp and lookup in one window equal plain greedy decoding alone, while another window's prompt shares the KV cache", async () => {
        const modelPath = await ensureFixture("redundant");
        const shared = new Engine({ slots: 3 });
        const alone = new Engine();
        try {
            await shared.load({ modelPath, threads: 1, gpu: "cpu" });
            await alone.load({ modelPath, threads: 1, gpu: "cpu" });
            assert.equal(shared.getStatus().model?.supportsLayerSkip, true);
            const drafted = { clasp: 0, lookup: 0 };
            for (let i = 0; i < 6; i++) {
                const prompt = fileOf(`v${i}x`, 6 + i);
                const plain = await alone.complete(request(prompt, "off"));
                for (const mode of ["clasp", "lookup"] as const) {
                    await shared.complete(request(fileOf(`other${i}`, 10)), undefined, "B");
                    const fast = await shared.complete(request(prompt, mode), undefined, "A");
                    assert.equal(fast.text, plain.text, `prompt ${i}, ${mode}: differs from plain greedy decoding`);
                    drafted[mode] += fast.speculation?.draftedTokens ?? 0;
                }
            }
            // each mode on its own: a clasp that quietly fell back to lookup would otherwise pass
            assert.ok(drafted.clasp > 0 && drafted.lookup > 0, `a mode drafted nothing, so it verified nothing across windows: ${JSON.stringify(drafted)}`);
            assert.equal(shared.getStatus().model?.layerSkipOff, undefined, "layer skip must be on in a multi-sequence context");
        } finally {
            await shared.dispose();
            await alone.dispose();
        }
    });
});
