import assert from "node:assert/strict";
import { estimateTokens, selectExtraContext, type OpenFile } from "../../src/completion/extraContext.ts";

const file = (path: string, languageId: string, text: string, lastUsed: number): OpenFile => ({ path, languageId, text, lastUsed });

describe("extra context from open files", () => {
    it("excludes the current file and empty files", () => {
        const files = [
            file("/a.ts", "typescript", "current", 9),
            file("/old.ts", "typescript", "old\n", 1),
            file("/x.py", "python", "py\n", 8),
            file("/empty.ts", "typescript", "  \n", 7),
        ];
        const picked = selectExtraContext(files, { path: "/a.ts", languageId: "typescript" }, 1000);
        assert.deepEqual(picked.map((s) => s.path), ["/old.ts", "/x.py"]);
    });

    it("spends a small budget on same-language, recent files first", () => {
        const line = "x".repeat(60) + "\n";
        const files = [
            file("/z-new.ts", "typescript", line, 5),
            file("/m-old.ts", "typescript", line, 1),
            file("/b.py", "python", line, 9),
        ];
        const picked = selectExtraContext(files, { path: "/a.ts", languageId: "typescript" }, 25);
        assert.deepEqual(picked.map((s) => s.path), ["/z-new.ts"]);
    });

    it("orders the chosen snippets by path, so switching files does not reshuffle the prompt", () => {
        const files = (aUsed: number, bUsed: number) => [file("/b.ts", "typescript", "b\n", bUsed), file("/c.ts", "typescript", "c\n", aUsed)];
        const current = { path: "/a.ts", languageId: "typescript" };
        const before = selectExtraContext(files(1, 2), current, 1000);
        const after = selectExtraContext(files(3, 2), current, 1000);
        assert.deepEqual(after, before);
        assert.deepEqual(before.map((s) => s.path), ["/b.ts", "/c.ts"]);
    });

    it("stays within the token budget, cutting a file at a line boundary", () => {
        const long = Array.from({ length: 200 }, (_, i) => `const value${i} = ${i};`).join("\n");
        const picked = selectExtraContext([file("/b.ts", "typescript", long, 1)], { path: "/a.ts", languageId: "typescript" }, 100);
        assert.equal(picked.length, 1);
        assert.ok(estimateTokens(picked[0]!.text) <= 100);
        assert.ok(picked[0]!.text.endsWith("\n"));
        assert.ok(long.startsWith(picked[0]!.text));
    });

    it("returns nothing with a zero budget", () => {
        assert.deepEqual(selectExtraContext([file("/b.ts", "typescript", "x\n", 1)], { path: "/a.ts", languageId: "typescript" }, 0), []);
    });
});
