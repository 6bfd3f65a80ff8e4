import assert from "node:assert/strict";
import { getLlama, type LlamaModel } from "node-llama-cpp";
import { ensureFixture } from "../../src/fixtures/index.ts";
import { buildPrompt, type PromptPieces } from "../../src/engine/promptLayout.ts";

/** Counts the characters the layout hands the tokenizer. */
function countTokenizedChars(model: LlamaModel): { chars: number } {
    const counter = { chars: 0 };
    const tokenize = model.tokenize.bind(model);
    model.tokenize = ((text: string, ...rest: never[]) => {
        counter.chars += text.length;
        return tokenize(text, ...rest);
    }) as LlamaModel["tokenize"];
    return counter;
}

describe("prompt layout: tokenization cached per unchanged piece", function () {
    this.timeout(120_000);

    it("a keystroke on the cursor line tokenizes only that line, and the prompt equals an uncached layout", async () => {
        const llama = await getLlama({ gpu: false, logLevel: "error" as never });
        const path = await ensureFixture("rand");
        const [model, fresh] = [await llama.loadModel({ modelPath: path, vocabOnly: true }), await llama.loadModel({ modelPath: path, vocabOnly: true })];
        try {
            const above = Array.from({ length: 300 }, (_, i) => `    const value${i} = compute(${i}, "row");\n`).join("");
            const pieces = (line: string): PromptPieces => ({
                prefix: above + line, suffix: "\n    return total;\n}\n", extraContext: [{ path: "util.ts", text: "export const one = 1;\n" }],
            });
            // a budget smaller than the file: the layout tries chunk windows
            const budget = { maxTokens: 1500 };
            const counter = countTokenizedChars(model);
            buildPrompt(model, pieces("    const next = comp"), budget);
            const cold = counter.chars;
            assert.ok(cold > above.length / 2, "the first layout tokenizes the file");

            counter.chars = 0;
            const typed = buildPrompt(model, pieces("    const next = compu"), budget);
            assert.equal(counter.chars, "    const next = compu".length, "only the cursor line went to the tokenizer");
            assert.deepEqual(typed, buildPrompt(fresh, pieces("    const next = compu"), budget));

            // a new line above changes the windows: tokenized again, and still what an uncached layout gives
            counter.chars = 0;
            const edited = { ...pieces("x"), prefix: above + "    // note\nx" };
            assert.deepEqual(buildPrompt(model, edited, budget), buildPrompt(fresh, edited, budget));
            assert.ok(counter.chars > above.length / 2);
        } finally {
            await model.dispose();
            await fresh.dispose();
        }
    });
});
