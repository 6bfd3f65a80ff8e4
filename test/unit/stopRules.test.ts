import assert from "node:assert/strict";
import { checkStop } from "../../src/engine/stopRules.ts";
import { splitAtCursor } from "../../src/engine/cursor.ts";

const base = { suffix: "", maxLines: 16, singleLine: false };

describe("stop rules", () => {
    it("keeps going while nothing applies", () => {
        assert.deepEqual(checkStop("let x = 1;\nlet y", base), { text: "let x = 1;\nlet y" });
    });
    it("stops at the first newline in single-line mode", () => {
        assert.deepEqual(checkStop("foo(bar);\nmore", { ...base, singleLine: true }), { text: "foo(bar);", reason: "singleLine" });
    });
    it("cuts before a line that repeats the suffix's first line", () => {
        const decision = checkStop("  a++;\n  return a;\n", { ...base, suffix: "\n  return a;\n}" });
        assert.deepEqual(decision, { text: "  a++;", reason: "suffixOverlap" });
    });
    it("ignores a one-character suffix line (too weak a signal)", () => {
        assert.equal(checkStop("a\n)\n", { ...base, suffix: ")" }).reason, undefined);
    });
    it("limits the number of lines", () => {
        assert.deepEqual(checkStop("a\nb\nc\nd", { ...base, maxLines: 2 }), { text: "a\nb", reason: "maxLines" });
    });
});

describe("cursor split", () => {
    const text = "one\ntwo\nthree";
    it("splits at 1-based line and column", () => {
        assert.deepEqual(splitAtCursor(text, 2, 2), { prefix: "one\nt", suffix: "wo\nthree" });
    });
    it("clamps a column past the line end", () => {
        assert.deepEqual(splitAtCursor(text, 1, 99), { prefix: "one", suffix: "\ntwo\nthree" });
    });
    it("clamps a line past the end of the file", () => {
        assert.deepEqual(splitAtCursor(text, 9, 1), { prefix: text, suffix: "" });
    });
});
