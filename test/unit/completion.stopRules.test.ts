import assert from "node:assert/strict";
import { applyStopRules, firstUnmatchedCloser, type StopContext } from "../../src/text/stopRules.ts";

const base: StopContext = { linePrefix: "", lineSuffix: "", nextLines: [], maxLines: 50, singleLine: false };

describe("completion stop rules", () => {
    it("trims the end that re-types the text right of the cursor", () => {
        const out = applyStopRules('name + "!";', { ...base, linePrefix: "const s = ", lineSuffix: ";", singleLine: true });
        assert.equal(out.text, 'name + "!"');
        assert.deepEqual(out.applied, ["suffixOverlap"]);
    });

    it("keeps only the first line when text follows the cursor", () => {
        const out = applyStopRules("x + 1;\nfoo();", { ...base, linePrefix: "const y = ", lineSuffix: ";", singleLine: true });
        assert.equal(out.text, "x + 1");
        assert.deepEqual(out.applied, ["singleLine", "suffixOverlap"]);
    });

    it("stops before a line that dedents below the cursor's line", () => {
        const out = applyStopRules("return a + b;\n}\n\nfunction other() {", { ...base, linePrefix: "    " });
        assert.equal(out.text, "return a + b;");
        assert.ok(out.applied.includes("dedent"));
    });

    it("keeps deeper and equal indentation", () => {
        const raw = "if (x) {\n        y();\n    }";
        assert.equal(applyStopRules(raw, { ...base, linePrefix: "    " }).text, raw);
    });

    it("ends the suggestion at the line of a bracket that closes something opened before it", () => {
        const out = applyStopRules("\n    return 1;\n}\nconsole.log(2);", { ...base, linePrefix: "function f() {" });
        assert.equal(out.text, "\n    return 1;\n}");
        assert.ok(out.applied.includes("unmatchedBracket"));
    });

    it("stops before a closing bracket that the text after the cursor already has", () => {
        const out = applyStopRules("a, b), c", { ...base, linePrefix: "f(", lineSuffix: ")", singleLine: true });
        assert.equal(out.text, "a, b");
        assert.ok(out.applied.includes("unmatchedBracket"));
    });

    it("ignores brackets inside strings when matching", () => {
        assert.equal(firstUnmatchedCloser('log(")") + x)'), 12);
        assert.equal(firstUnmatchedCloser("a(b[c]{d})"), -1);
    });

    it("drops the tail that repeats the lines already below the cursor", () => {
        const out = applyStopRules("const a = 1;\nconst b = 2;\nreturn a + b;", {
            ...base,
            nextLines: ["const b = 2;", "return a + b;", "}"],
        });
        assert.equal(out.text, "const a = 1;");
        assert.ok(out.applied.includes("repeatsNextLines"));
    });

    it("drops a suggestion that is only the next line again", () => {
        const out = applyStopRules("return x;", { ...base, linePrefix: "    ", nextLines: ["    return x;"] });
        assert.equal(out.text, "");
    });

    it("caps the number of lines", () => {
        const out = applyStopRules("a\nb\nc\nd", { ...base, maxLines: 2 });
        assert.equal(out.text, "a\nb");
        assert.ok(out.applied.includes("maxLines"));
    });

    it("removes trailing blank lines and whitespace, and empties whitespace-only output", () => {
        assert.equal(applyStopRules("foo()  \n\n  \n", base).text, "foo()");
        assert.equal(applyStopRules("  \n \n", base).text, "");
    });

    it("leaves a clean suggestion untouched", () => {
        const out = applyStopRules("map((x) => x * 2);", { ...base, linePrefix: "const doubled = xs." });
        assert.equal(out.text, "map((x) => x * 2);");
        assert.deepEqual(out.applied, []);
    });
});
