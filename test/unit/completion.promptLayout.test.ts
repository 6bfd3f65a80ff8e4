import assert from "node:assert/strict";
import { buildCursorContext, needsSingleLine, type TextView } from "../../src/completion/promptLayout.ts";

function docOf(text: string): TextView {
    const lines = text.split("\n");
    return { lineCount: lines.length, lineAt: (i) => lines[i]! };
}

function numbered(count: number): TextView {
    return docOf(Array.from({ length: count }, (_, i) => `line ${i}`).join("\n"));
}

describe("completion prompt layout", () => {
    it("splits the document at the cursor into prefix and suffix", () => {
        const ctx = buildCursorContext(docOf("function add(a, b) {\n    return a\n}"), { line: 1, character: 12 });
        assert.equal(ctx.prefix, "function add(a, b) {\n    return a");
        assert.equal(ctx.suffix, "\n}");
        assert.equal(ctx.linePrefix, "    return a");
        assert.equal(ctx.lineSuffix, "");
        assert.deepEqual(ctx.nextLines, ["}"]);
    });

    it("keeps text right of the cursor at the start of the suffix", () => {
        const ctx = buildCursorContext(docOf("foo(bar)"), { line: 0, character: 4 });
        assert.equal(ctx.prefix, "foo(");
        assert.equal(ctx.suffix, "bar)");
        assert.equal(ctx.lineSuffix, "bar)");
    });

    it("keeps the start of the prompt fixed while the cursor moves inside a chunk (KV reuse)", () => {
        const doc = numbered(1000);
        const limits = { prefixLines: 100, suffixLines: 20, chunkLines: 32 };
        const starts = new Set<string>();
        for (let line = 500; line < 512; line++) {
            const ctx = buildCursorContext(doc, { line, character: 0 }, limits);
            starts.add(ctx.prefix.split("\n")[0]!);
        }
        assert.equal(starts.size, 1, `the first prefix line changed: ${[...starts].join(", ")}`);
        const first = buildCursorContext(doc, { line: 500, character: 0 }, limits).prefix.split("\n")[0]!;
        const firstLine = Number(first.slice(5));
        assert.equal(firstLine % 32, 0);
        assert.ok(500 - firstLine >= 100 && 500 - firstLine < 132);
    });

    it("typing on the cursor's line changes only the end of the prefix, never the suffix", () => {
        const before = buildCursorContext(docOf("a\nconst x = \nb"), { line: 1, character: 10 });
        const after = buildCursorContext(docOf("a\nconst x = 4\nb"), { line: 1, character: 11 });
        assert.equal(after.suffix, before.suffix);
        assert.ok(after.prefix.startsWith(before.prefix));
    });

    it("clamps a cursor past the end of its line and rejects a line outside the document", () => {
        const ctx = buildCursorContext(docOf("ab"), { line: 0, character: 99 });
        assert.equal(ctx.prefix, "ab");
        assert.throws(() => buildCursorContext(docOf("ab"), { line: 3, character: 0 }), RangeError);
    });

    it("asks for a single line only when real text follows the cursor", () => {
        assert.equal(needsSingleLine(""), false);
        assert.equal(needsSingleLine("   "), false);
        assert.equal(needsSingleLine(")"), true);
        assert.equal(needsSingleLine(" + b"), true);
    });
});
