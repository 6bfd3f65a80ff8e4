// Held-out "repeat" prompts: cuts of the same third-party sources (see heldOutPrompts.ts) where
// the true continuation, at least 16 tokens of whole lines, already appears earlier in the file
// (inside the prompt's window) or at the head of another open file (what the editor sends as
// extra context). This is where copying drafts (lookup, hybrid) should shine.
import { selectExtraContext } from "../src/completion/extraContext.ts";
import { defaultCompletionConfig } from "../src/config.ts";
import { heldOutSources, type HeldOutPrompt } from "./heldOutPrompts.ts";

/** The continuation must be at least this many tokens (of the model that is benchmarked). */
export const minRepeatTokens = 16;
/**
 * An earlier copy counts only within this many characters before the cut: about 1,000 tokens of
 * code, inside the benchmark's prompt window (2,048-token context) for any tokenizer.
 */
const windowChars = 3000;
/** Longest continuation looked at, in lines. */
const maxLines = 8;
/** Lines scanned after each starting point for a repeat. */
const scanLines = 400;

export type RepeatKind = "earlier in the file" | "in an open file";

export interface RepeatPrompt extends HeldOutPrompt {
    repeatKind: RepeatKind;
}

/**
 * Up to `count` repeat prompts, deterministic for a given tokenizer: starting points spread over
 * the sources as heldOutPrompts spreads its cuts, each scanned forward to the first line whose
 * continuation repeats. Alternates the two kinds while both are found. `countTokens` is the
 * benchmarked model's tokenizer: "16 tokens" means its tokens.
 */
export function repeatPrompts(count: number, countTokens: (text: string) => number): RepeatPrompt[] {
    const sources = heldOutSources();
    const files = sources.filter(({ lines }) => lines.length >= 60);
    if (files.length === 0) throw new Error("no held-out sources of at least 60 lines");
    // The part of each file the editor would send were that file the one other open file.
    const heads = sources.flatMap((source) => selectExtraContext(
        [{ path: source.file, languageId: "typescript", text: source.lines.join("\n"), lastUsed: 0 }],
        { path: "", languageId: "typescript" },
        defaultCompletionConfig.extraContext,
    ));
    const found: RepeatPrompt[] = [];
    let want: RepeatKind = "earlier in the file";
    for (let i = 0; found.length < count && i < count * 20; i++) {
        const { file, lines } = files[(i * 7919) % files.length]!;
        const start = Math.floor(lines.length * (0.2 + 0.7 * (((i * 2654435761) >>> 0) % 1000) / 1000));
        let other: RepeatPrompt | undefined;
        let chosen: RepeatPrompt | undefined;
        for (let cut = start; !chosen && cut < Math.min(lines.length - 1, start + scanLines); cut++) {
            const middle = continuationAt(lines, cut, countTokens);
            if (middle === undefined) continue;
            const prefix = lines.slice(0, cut).join("\n") + "\n";
            const base = { file, prefix, middle: middle.text, suffix: lines.slice(cut + middle.lines).join("\n") };
            const needle = "\n" + middle.text;
            const candidates: RepeatPrompt[] = [];
            if (("\n" + prefix.slice(-windowChars)).includes(needle)) candidates.push({ ...base, repeatKind: "earlier in the file" });
            const open = heads.find((head) => head.path !== file && ("\n" + head.text).includes(needle));
            if (open) candidates.push({ ...base, extraContext: [open], repeatKind: "in an open file" });
            chosen = candidates.find((c) => c.repeatKind === want);
            other ??= candidates[0];
        }
        const prompt = chosen ?? other;
        if (!prompt || found.some((p) => p.file === prompt.file && p.prefix === prompt.prefix)) continue;
        found.push(prompt);
        if (prompt.repeatKind === want) want = want === "earlier in the file" ? "in an open file" : "earlier in the file";
    }
    return found;
}

/** Whole lines from `cut` on, just long enough to make `minRepeatTokens`; undefined when they are trivial. */
function continuationAt(lines: string[], cut: number, countTokens: (text: string) => number): { text: string; lines: number } | undefined {
    if (lines[cut]!.trim().length === 0) return undefined;
    for (let n = 1; n <= maxLines && cut + n <= lines.length; n++) {
        const text = lines.slice(cut, cut + n).join("\n") + "\n";
        if (countTokens(text) < minRepeatTokens) continue;
        // brackets, blank lines and comment rulers alone are not a continuation worth copying
        return text.replace(/[\s{}()[\];,/*=-]/g, "").length >= 24 ? { text, lines: n } : undefined;
    }
    return undefined;
}
