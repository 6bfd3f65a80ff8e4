import assert from "node:assert/strict";
import { mkdtemp, readFile, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getLlama } from "node-llama-cpp";
import { Engine, stopContextOf } from "../../src/engine/engine.ts";
import { ensureFixture } from "../../src/fixtures/index.ts";
import { buildPrompt } from "../../src/engine/promptLayout.ts";
import { trailingBlanks, withoutTypedBlanks } from "../../src/engine/trailingBlanks.ts";

const threads = 1;

async function loadedEngine(preset: "rand" | "nofim"): Promise<Engine> {
    const engine = new Engine();
    await engine.load({ modelPath: await ensureFixture(preset), threads, gpu: "cpu" });
    return engine;
}

describe("engine: plain completion on generated fixtures", function () {
    this.timeout(120_000);
    let fim: Engine;
    let prefixOnly: Engine;
    before(async () => {
        fim = await loadedEngine("rand");
        prefixOnly = await loadedEngine("nofim");
    });
    after(async () => {
        await fim.dispose();
        await prefixOnly.dispose();
    });

    it("reads FIM support from the vocabulary, not the file name", () => {
        assert.equal(fim.getStatus().model?.hasFim, true);
        assert.equal(prefixOnly.getStatus().model?.hasFim, false);
        assert.equal(fim.getStatus().model?.layers, 4);
        assert.equal(fim.getStatus().state, "ready");
    });

    it("uses FIM when the model has FIM tokens and a plain continuation otherwise", async () => {
        const request = { prefix: "function f(a) {\n  return ", suffix: ";\n}\n", maxTokens: 8, maxLines: 100 };
        assert.equal((await fim.complete(request)).usedFim, true);
        assert.equal((await prefixOnly.complete(request)).usedFim, false);
    });

    it("is deterministic and honours maxTokens under greedy decoding", async () => {
        const request = { prefix: "const x = ", suffix: "", maxTokens: 12, maxLines: 1000 };
        const first = await fim.complete(request);
        const second = await fim.complete(request);
        assert.equal(first.text, second.text);
        assert.ok(first.generatedTokens <= 12);
    });

    it("lays out the prompt without the blanks the cursor line ends in, and takes them off the answer (token healing)", async () => {
        for (const [above, blanks] of [["function f(a) {\n  return a *", " "], ["function f(a) {\n", "    "]] as const) {
            const bare = await prefixOnly.complete({ prefix: above, suffix: "", maxTokens: 4, maxLines: 100 });
            const typed = await prefixOnly.complete({ prefix: above + blanks, suffix: "", maxTokens: 4, maxLines: 100 });
            assert.equal(typed.timings.promptTokens, bare.timings.promptTokens, `${JSON.stringify(blanks)} changed the prompt`);
            assert.equal(typed.text, withoutTypedBlanks(bare.text, blanks));
        }
        assert.equal(withoutTypedBlanks("  return x", "    "), "return x");
        assert.equal(withoutTypedBlanks("    return x", "  "), "  return x");
        assert.equal(withoutTypedBlanks("\nnext", " "), "\nnext");
        assert.equal(trailingBlanks("a = \t"), " \t");
        assert.equal(trailingBlanks("a =\n"), "");
    });

    it("a prefill-only request generates nothing and leaves the prompt cached for the next request there", async () => {
        const request = { prefix: "class Cart {\n  items = [];\n  add(item) {\n    this.items.", suffix: "\n  }\n}\n", maxTokens: 6, maxLines: 100 };
        const plain = await fim.complete(request);
        await fim.complete({ prefix: "unrelated();\n", suffix: "", maxTokens: 2 });
        const warm = await fim.complete({ ...request, prefillOnly: true });
        assert.equal(warm.text, "");
        assert.equal(warm.generatedTokens, 0);
        assert.equal(warm.stopReason, "prefilled");
        const after = await fim.complete(request);
        // all but the last prompt token (the decoder's first input) came from the warm-up's cache
        assert.equal(after.timings.reusedTokens, after.timings.promptTokens - 1);
        assert.equal(after.text, plain.text);
    });

    it("reuses the KV cache when only the cursor line changes", async () => {
        const above = "export function sum(values) {\n  let total = 0;\n  for (const v of values) total += v;\n";
        await fim.complete({ prefix: above + "  ret", suffix: "\n}\n", maxTokens: 2 });
        const next = await fim.complete({ prefix: above + "  retu", suffix: "\n}\n", maxTokens: 2 });
        // Everything up to and including MID stays cached: only the cursor line is new.
        const cursorLineTokens = next.timings.promptTokens - next.timings.reusedTokens;
        assert.ok(next.timings.reusedTokens > 20, `reused ${next.timings.reusedTokens}`);
        assert.ok(cursorLineTokens <= 6, `re-evaluated ${cursorLineTokens} tokens`);
    });

    it("lays out FIM as PRE lines-above SUF suffix MID cursor-line", async () => {
        const llama = await getLlama({ gpu: false });
        const model = await llama.loadModel({ modelPath: await ensureFixture("rand") });
        try {
            const prompt = buildPrompt(model, { prefix: "a\nbc", suffix: "d" }, { maxTokens: 100 });
            const { prefix, suffix, middle } = model.tokens.infill;
            const text = (from: number, to: number) => model.detokenize(prompt.tokens.slice(from, to));
            const [p, s, m] = [prompt.tokens.indexOf(prefix!), prompt.tokens.indexOf(suffix!), prompt.tokens.indexOf(middle!)];
            assert.ok(p >= 0 && p < s && s < m, "PRE < SUF < MID");
            assert.equal(text(p + 1, s), "a\n");
            assert.equal(text(s + 1, m), "d");
            assert.equal(text(m + 1, prompt.tokens.length), "bc");
        } finally {
            await model.dispose();
        }
    });

    it("trims a long prefix at 16-line chunks, stable while typing on the cursor line", async () => {
        const llama = await getLlama({ gpu: false });
        const model = await llama.loadModel({ modelPath: await ensureFixture("rand") });
        try {
            const above = Array.from({ length: 400 }, (_, i) => `const value${i} = compute(${i}, "${"x".repeat(i % 7)}");\n`).join("");
            const budget = { maxTokens: 2000 };
            const layout = (cursorLine: string) => buildPrompt(model, { prefix: above + cursorLine, suffix: "\n}" }, budget);
            const [before, after] = [layout("  ret"), layout("  retu")];
            assert.ok(before.tokens.length <= 2000, `${before.tokens.length} tokens`);
            const pre = before.tokens.indexOf(model.tokens.infill.prefix!);
            const suf = before.tokens.indexOf(model.tokens.infill.suffix!);
            const keptText = model.detokenize(before.tokens.slice(pre + 1, suf));
            const firstKeptLine = Number(/^const value(\d+) =/.exec(keptText)?.[1]);
            assert.ok(firstKeptLine > 0 && firstKeptLine % 16 === 0, `window starts at line ${firstKeptLine}: ${JSON.stringify(keptText.slice(0, 60))}`);
            assert.ok(above.endsWith(keptText), "the kept text is the end of the prefix");
            assert.deepEqual(after.tokens.slice(0, suf + 1), before.tokens.slice(0, suf + 1), "a keystroke keeps the window");
            const minified = buildPrompt(model, { prefix: "x=1;".repeat(50_000), suffix: "" }, budget);
            assert.ok(minified.tokens.length > 100 && minified.tokens.length <= 2000, `minified: ${minified.tokens.length}`);
        } finally {
            await model.dispose();
        }
    });

    it("cancels mid-generation and the next request equals a fresh one", async () => {
        const request = { prompt: "function main() {\n", maxTokens: 40 };
        const reference = await fim.generate(request);
        assert.ok(reference.generatedTokens > 5, "the reference must run long enough to be interrupted");
        const controller = new AbortController();
        const aborted = fim.generate({ ...request, maxTokens: 200 }, controller.signal, () => controller.abort());
        await assert.rejects(aborted, (error: Error & { code?: string }) => error.code === "CANCELLED");
        assert.equal((await fim.generate(request)).text, reference.text);
    });

    it("streams generated text for the generate command", async () => {
        const chunks: string[] = [];
        const result = await fim.generate({ prompt: "// add two numbers\n", maxTokens: 10 }, undefined, (t) => chunks.push(t));
        assert.ok(result.text.length > 0 && chunks.length > 0, "something was generated and streamed");
        assert.equal(chunks.join(""), result.text);
    });
});

describe("engine: stop rules of a prefix-only completion", () => {
    it("still come from the suffix the model never sees (next lines, rest of the cursor line)", () => {
        const context = stopContextOf({ prefix: "function f() {\n    return ", suffix: ");\n}\nconst x = 1;\n" });
        assert.equal(context.linePrefix, "    return ");
        assert.equal(context.lineSuffix, ");");
        assert.deepEqual(context.nextLines, ["}", "const x = 1;", ""]);
    });
});

describe("engine: bad model input gives a clear error, never a crash", function () {
    this.timeout(60_000);
    let dir: string;
    before(async () => { dir = await mkdtemp(join(tmpdir(), "clasp-bad-")); });

    const expectLoadError = async (path: string, code: string, pattern: RegExp) => {
        const engine = new Engine();
        await assert.rejects(engine.load({ modelPath: path, threads }), (error: Error & { code?: string }) => {
            assert.equal(error.code, code, error.message);
            assert.match(error.message, pattern);
            return true;
        });
        assert.equal(engine.getStatus().state, "error");
        assert.match(engine.getStatus().error ?? "", pattern);
    };

    it("missing file", () => expectLoadError(join(dir, "nope.gguf"), "MODEL_NOT_FOUND", /not found/));
    it("a directory", async () => {
        await mkdir(join(dir, "folder.gguf"));
        await expectLoadError(join(dir, "folder.gguf"), "MODEL_NOT_FILE", /not a file/);
    });
    it("empty file", async () => {
        await writeFile(join(dir, "empty.gguf"), "");
        await expectLoadError(join(dir, "empty.gguf"), "MODEL_CORRUPT", /empty or truncated/);
    });
    it("not a GGUF (an HTML error page)", async () => {
        await writeFile(join(dir, "page.gguf"), "<!doctype html><html><body>404 Not Found</body></html>");
        await expectLoadError(join(dir, "page.gguf"), "MODEL_NOT_GGUF", /Not a GGUF/);
    });
    it("corrupt header", async () => {
        const bytes = await readFile(await ensureFixture("rand"));
        const corrupt = Buffer.from(bytes.subarray(0, 200));
        corrupt.fill(0xff, 8, 200);
        await writeFile(join(dir, "corrupt.gguf"), corrupt);
        await expectLoadError(join(dir, "corrupt.gguf"), "MODEL_CORRUPT", /Corrupt or truncated|Truncated/);
    });
    it("truncated download", async () => {
        const bytes = await readFile(await ensureFixture("rand"));
        await writeFile(join(dir, "cut.gguf"), bytes.subarray(0, Math.floor(bytes.length / 2)));
        await expectLoadError(join(dir, "cut.gguf"), "MODEL_CORRUPT", /Truncated|Corrupt/);
    });
    it("unsupported architecture", async () => {
        const bytes = Buffer.from(await readFile(await ensureFixture("rand")));
        const key = bytes.indexOf("general.architecture");
        const value = bytes.indexOf("llama", key + "general.architecture".length);
        bytes.write("xxxxx", value, "latin1");
        await writeFile(join(dir, "alien.gguf"), bytes);
        await expectLoadError(join(dir, "alien.gguf"), "MODEL_UNSUPPORTED", /Unsupported model architecture "xxxxx"/);
    });
    it("completing with no model loaded", async () => {
        await assert.rejects(new Engine().complete({ prefix: "", suffix: "" }), /No model is loaded/);
    });
});

describe("engine: a GPU backend this install has no binary for", function () {
    this.timeout(120_000);

    it("runs on the CPU and says why, instead of failing to load (this machine has no CUDA)", async () => {
        const engine = new Engine();
        try {
            const info = await engine.load({ modelPath: await ensureFixture("rand"), threads, gpu: "cuda" });
            assert.equal(info.backend, "cpu");
            assert.equal(info.patchedBuild, true, "the CPU fallback still gets the CLaSp-patched build");
            assert.match(info.backendFallback ?? "", /clasp\.gpu is "cuda", but no cuda binary runs here .*running on the CPU\. "CLaSp: Build Accelerated Backend"/);
            assert.ok((await engine.complete({ prefix: "const x = ", suffix: "", maxTokens: 2 })).generatedTokens > 0);
        } finally {
            await engine.dispose();
        }
    });
});
