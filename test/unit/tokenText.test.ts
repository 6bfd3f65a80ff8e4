// The completion text is the concatenation of the tokens' pieces, never llama.cpp's cleaned-up
// detokenization, and a character split across tokens only shows once it is whole.
import assert from "node:assert/strict";
import { getLlama, type Llama, type LlamaModel, type Token } from "node-llama-cpp";
import { ensureFixture } from "../../src/fixtures/index.ts";
import { requireCachedModel } from "../../src/models/pinnedModels.ts";
import { TokenText, piecesOf } from "../../src/engine/tokenText.ts";

const code = [
    "const a = b ?? c ?? d;",
    "x . y , z ! w ? v 's 've n't",
    "if (a) {\n\treturn b?.c ?? d;\r\n}",
    "  const s = `${x}` + 'ü→日本' + \"😀\";",
    "foo( bar ) ; // naïve café — Ωμέγα",
];

/** Feeds tokens one at a time, as decoding commits them, and records each step's visible text. */
function streamed(model: LlamaModel, tokens: readonly Token[]): { text: string; steps: string[] } {
    const text = new TokenText(piecesOf(model));
    const steps: string[] = [];
    for (const token of tokens) {
        text.push([token]);
        steps.push(text.text);
    }
    return { text: text.text, steps };
}

describe("token text: exactly what the model wrote", function () {
    this.timeout(120_000);
    let llama: Llama;
    const models: LlamaModel[] = [];
    before(async () => { llama = await getLlama({ gpu: false }); });
    after(async () => {
        for (const model of models) await model.dispose();
        await llama.dispose();
    });
    const load = async (path: string) => {
        const model = await llama.loadModel({ modelPath: path });
        models.push(model);
        return model;
    };

    it("keeps LLaMA-3's spacing that llama.cpp's detokenize cleans up (llama-bpe)", async () => {
        const model = await load(await ensureFixture("llama3-vocab"));
        const tokens = model.tokenize("a ?? b", false);
        // The bug this guards against: llama.cpp's own detokenization drops the space.
        assert.equal(model.detokenize(tokens), "a?? b");
        assert.equal(streamed(model, tokens).text, "a ?? b");
        for (const text of code) assert.equal(streamed(model, model.tokenize(text, false)).text, text);
    });

    for (const [name, id] of [["SmolLM2 (byte-level BPE)", "smollm2"], ["Gemma 3 (SentencePiece)", "gemma3"]] as const) {
        it(`round-trips code with such spacing and non-ASCII text on ${name}`, async () => {
            const model = await load(requireCachedModel(id));
            for (const text of code) assert.equal(streamed(model, model.tokenize(text, false)).text, text);
        });
    }

    it("never shows half a character: a split emoji appears only with its last token (SmolLM2)", async () => {
        const model = await load(requireCachedModel("smollm2"));
        const tokens = model.tokenize("x 😀 y", false);
        const split = tokens.findIndex((token) => {
            const piece = piecesOf(model)(token);
            return piece.length > 0 && piece[piece.length - 1]! >= 0x80 && new TextDecoder("utf-8", { fatal: false }).decode(piece).includes("\uFFFD");
        });
        assert.ok(split >= 0, "the vocabulary is expected to split this emoji across tokens");
        const { steps } = streamed(model, tokens);
        for (const step of steps) assert.ok(!step.includes("\uFFFD"), JSON.stringify(step));
        assert.equal(steps[split], "x "); // the space is whole; the emoji waits for its last byte
        assert.equal(steps.at(-1), "x 😀 y");
    });

    it("renders control tokens as nothing, as llama_token_to_piece without specials does", async () => {
        const model = await load(requireCachedModel("smollm2"));
        const imEnd = model.tokenize("<|im_end|>", true);
        assert.equal(imEnd.length, 1);
        assert.equal(streamed(model, [...model.tokenize("ok", false), ...imEnd]).text, "ok");
    });
});
