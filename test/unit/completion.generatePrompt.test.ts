import assert from "node:assert/strict";
import { buildGeneratePrompt, commentText, generateContextChars, lineCommentFor } from "../../src/completion/generatePrompt.ts";

describe("generate prompt", () => {
    it("writes the instruction as a comment of the file's language where the code goes", () => {
        const prompt = buildGeneratePrompt({ before: "import os\n", languageId: "python", instruction: "list files", instructionInCode: false, indent: "" });
        assert.equal(prompt, "import os\n# list files\n");
        const indented = buildGeneratePrompt({ before: "class A {", languageId: "typescript", instruction: "a getter\nfor x", instructionInCode: false, indent: "    " });
        assert.equal(indented, "class A {\n    // a getter\n    // for x\n    ");
    });

    it("does not repeat an instruction that is already a comment in the code", () => {
        const prompt = buildGeneratePrompt({ before: "// sort the list", languageId: "javascript", instruction: "sort the list", instructionInCode: true, indent: "" });
        assert.equal(prompt, "// sort the list\n");
    });

    it("keeps only the recent code, starting at a whole line", () => {
        const before = "x".repeat(100) + "\n" + "line\n".repeat(generateContextChars);
        const prompt = buildGeneratePrompt({ before, languageId: "go", instruction: "go", instructionInCode: true, indent: "" });
        assert.ok(prompt.length <= generateContextChars);
        assert.ok(prompt.startsWith("line\n"));
    });

    it("recognises a comment under the cursor", () => {
        assert.equal(commentText("    // parse the header", "typescript"), "parse the header");
        assert.equal(commentText("# fetch rows", "python"), "fetch rows");
        assert.equal(commentText("/* build index */", "c"), "build index");
        assert.equal(commentText("const a = 1; // not a comment line", "typescript"), undefined);
        assert.equal(commentText("//", "typescript"), undefined);
        assert.equal(lineCommentFor("sql"), "--");
    });
});
