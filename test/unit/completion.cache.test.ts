import assert from "node:assert/strict";
import { CompletionCache } from "../../src/completion/completionCache.ts";

describe("completion cache", () => {
    it("returns a suggestion for the exact same position", () => {
        const cache = new CompletionCache();
        cache.set("const x = ", "\n", "compute();");
        assert.equal(cache.get("const x = ", "\n"), "compute();");
    });

    it("serves the rest when the user types what the suggestion says (typed-through)", () => {
        const cache = new CompletionCache();
        cache.set("const x = ", "\n", "compute();");
        assert.equal(cache.get("const x = com", "\n"), "pute();");
        assert.equal(cache.get("const x = compute(", "\n"), ");");
    });

    it("misses when the typed text diverges, the suffix differs, or the suggestion is used up", () => {
        const cache = new CompletionCache();
        cache.set("const x = ", "\n", "compute();");
        assert.equal(cache.get("const x = cx", "\n"), undefined);
        assert.equal(cache.get("const x = com", "\nmore"), undefined);
        assert.equal(cache.get("const x = compute();", "\n"), undefined);
        assert.equal(cache.get("const x", "\n"), undefined);
    });

    it("typed-through works across an accepted newline", () => {
        const cache = new CompletionCache();
        cache.set("if (a) {", "\n}", "\n    go();\n    stop();");
        assert.equal(cache.get("if (a) {\n    go();\n", "\n}"), "    stop();");
    });

    it("evicts the least recently used entry beyond its capacity", () => {
        const cache = new CompletionCache(2);
        cache.set("a", "", "1");
        cache.set("b", "", "2");
        assert.equal(cache.get("a", ""), "1"); // a is now the most recent
        cache.set("c", "", "3");
        assert.equal(cache.size, 2);
        assert.equal(cache.get("b", ""), undefined);
        assert.equal(cache.get("a", ""), "1");
        assert.equal(cache.get("c", ""), "3");
    });

    it("replaces an entry for the same position and ignores empty suggestions", () => {
        const cache = new CompletionCache();
        cache.set("p", "s", "old");
        cache.set("p", "s", "new");
        cache.set("q", "s", "");
        assert.equal(cache.size, 1);
        assert.equal(cache.get("p", "s"), "new");
    });
});
