// "CLaSp: Generate" for a code model: the instruction becomes a comment in the code right where
// the result goes, and the model continues the file from there. Works with base (non-chat) code
// models, which is what the FIM models we load are.

const lineCommentByLanguage: Record<string, string> = {
    python: "#", shellscript: "#", ruby: "#", perl: "#", r: "#", yaml: "#", toml: "#", dockerfile: "#",
    makefile: "#", powershell: "#", elixir: "#", julia: "#", coffeescript: "#", nim: "#",
    sql: "--", lua: "--", haskell: "--", ada: "--", elm: "--",
    lisp: ";", clojure: ";", scheme: ";", ini: ";",
    latex: "%", tex: "%", matlab: "%", erlang: "%",
    vb: "'", bat: "REM",
};

export function lineCommentFor(languageId: string): string {
    return lineCommentByLanguage[languageId] ?? "//";
}

/** The text of a line if it is a line comment (without the comment marker), else undefined. */
export function commentText(line: string, languageId: string): string | undefined {
    const marker = lineCommentFor(languageId);
    const trimmed = line.trim();
    for (const start of [marker, "//", "#", "--", "/*", "*"]) {
        if (trimmed.startsWith(start) && trimmed.length > start.length) {
            const text = trimmed.slice(start.length).replace(/\*\/\s*$/, "").trim();
            if (text.length > 0) return text;
        }
    }
    return undefined;
}

export interface GenerateSource {
    /** Text before the insertion point (the end of the selection or of the comment's line). */
    before: string;
    languageId: string;
    instruction: string;
    /** True when `before` already ends with the instruction (a selected or existing comment). */
    instructionInCode: boolean;
    /** Indentation to use for the generated code. */
    indent: string;
}

/** How many characters of code before the insertion point the prompt keeps. */
export const generateContextChars = 6000;

export function buildGeneratePrompt(source: GenerateSource): string {
    let before = source.before.slice(-generateContextChars);
    // Start at a whole line so the model does not see half a token sequence.
    if (source.before.length > generateContextChars) before = before.slice(before.indexOf("\n") + 1);
    if (before.length > 0 && !before.endsWith("\n")) before += "\n";
    if (source.instructionInCode) return before + source.indent;
    const comment = source.instruction
        .split("\n")
        .map((line) => `${source.indent}${lineCommentFor(source.languageId)} ${line.trim()}`.trimEnd())
        .join("\n");
    return `${before}${comment}\n${source.indent}`;
}
