import assert from "node:assert/strict";
import { splitAtCursor } from "../../src/engine/cursor.ts";

const base = { suffix: "", maxLines: 16, singleLine: false };

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
