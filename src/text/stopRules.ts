// Post-processing of raw model output into what is worth showing. Each rule that changed the
// text is reported, so the "why no suggestion?" view can say what happened. Shared by the editor
// side (src/completion) and the engine (which stops generating where these rules would cut), so it
// lives apart from both.

function indentOf(line: string): number {
    return line.length - line.trimStart().length;
}

export type StopRule =
    | "singleLine"
    | "maxLines"
    | "dedent"
    | "unmatchedBracket"
    | "repeatsNextLines"
    | "suffixOverlap"
    | "trailingBlank";

export interface StopContext {
    linePrefix: string;
    lineSuffix: string;
    /** Document lines after the cursor's line, nearest first. */
    nextLines: readonly string[];
    maxLines: number;
    singleLine: boolean;
}

export interface ProcessedCompletion {
    /** Empty when nothing is worth showing. */
    text: string;
    applied: StopRule[];
}

const closers: Record<string, string> = { ")": "(", "]": "[", "}": "{" };
const openers = new Set(Object.values(closers));

/**
 * Index of the first closing bracket in `text` that closes nothing opened inside `text`, or -1.
 * Quoted strings are skipped so `")"` does not count.
 */
export function firstUnmatchedCloser(text: string): number {
    const stack: string[] = [];
    let quote: string | null = null;
    for (let i = 0; i < text.length; i++) {
        const ch = text[i]!;
        if (quote) {
            if (ch === "\\") i++;
            else if (ch === quote || ch === "\n") quote = null;
            continue;
        }
        if (ch === '"' || ch === "'" || ch === "`") quote = ch;
        else if (openers.has(ch)) stack.push(ch);
        else if (ch in closers) {
            if (stack.length === 0) return i;
            stack.pop();
        }
    }
    return -1;
}

/** Length of the longest end of `text` that is also a start of `following` (and not all of `text`). */
function overlapLength(text: string, following: string): number {
    for (let k = Math.min(text.length, following.length); k > 0; k--)
        if (text.endsWith(following.slice(0, k))) return k;
    return 0;
}

function nonEmpty(lines: readonly string[]): string[] {
    return lines.map((l) => l.trim()).filter((l) => l.length > 0);
}

export function applyStopRules(raw: string, ctx: StopContext): ProcessedCompletion {
    const applied: StopRule[] = [];
    let lines = raw.replace(/\r\n/g, "\n").split("\n");

    if (ctx.singleLine && lines.length > 1) {
        lines = lines.slice(0, 1);
        applied.push("singleLine");
    }

    // Lines after the first that dedent below the cursor's line leave the block being written.
    // (When the cursor sits in leading whitespace, the first line's own indent counts too.)
    const baseIndent = indentOf(ctx.linePrefix + lines[0]!);
    for (let i = 1; i < lines.length; i++) {
        const line = lines[i]!;
        if (line.trim().length > 0 && indentOf(line) < baseIndent) {
            lines = lines.slice(0, i);
            applied.push("dedent");
            break;
        }
    }

    // A bracket closing something opened before the completion ends the construct: keep its line,
    // stop after it. If the text after the cursor already starts with that bracket, stop before it.
    const joined = lines.join("\n");
    const unmatched = firstUnmatchedCloser(joined);
    if (unmatched >= 0) {
        const lineEnd = joined.indexOf("\n", unmatched);
        const onFirstLine = lineEnd < 0 ? !joined.includes("\n") : !joined.slice(0, unmatched).includes("\n");
        if (onFirstLine && ctx.lineSuffix.trimStart().startsWith(joined[unmatched]!)) {
            lines = [joined.slice(0, unmatched).trimEnd()];
            applied.push("unmatchedBracket");
        } else if (lineEnd >= 0) {
            lines = joined.slice(0, lineEnd).split("\n");
            applied.push("unmatchedBracket");
        }
    }

    if (lines.length > ctx.maxLines) {
        lines = lines.slice(0, ctx.maxLines);
        applied.push("maxLines");
    }

    // Drop the tail of the completion where it starts repeating the lines already below the cursor.
    const following = nonEmpty(ctx.nextLines);
    if (following.length > 0) {
        for (let i = 1; i < lines.length; i++) {
            const tail = nonEmpty(lines.slice(i));
            if (tail.length > 0 && tail.every((l, j) => l === following[j])) {
                lines = lines.slice(0, i);
                applied.push("repeatsNextLines");
                break;
            }
        }
    }

    // The end of the text must not re-type what already follows the cursor on this line.
    if (lines.length === 1 && ctx.lineSuffix.length > 0) {
        const k = overlapLength(lines[0]!, ctx.lineSuffix);
        if (k > 0) {
            lines[0] = lines[0]!.slice(0, -k);
            applied.push("suffixOverlap");
        }
    }

    while (lines.length > 1 && lines[lines.length - 1]!.trim() === "") {
        lines.pop();
        if (!applied.includes("trailingBlank")) applied.push("trailingBlank");
    }
    lines[lines.length - 1] = lines[lines.length - 1]!.trimEnd();

    let text = lines.join("\n");
    if (text.trim().length === 0) text = "";
    // A suggestion that only re-types the next lines or the rest of the line is noise.
    if (text.length > 0 && isRepeatOfWhatFollows(text, ctx)) {
        text = "";
        applied.push("repeatsNextLines");
    }
    return { text, applied };
}

function isRepeatOfWhatFollows(text: string, ctx: StopContext): boolean {
    const trimmed = text.trim();
    if (trimmed === ctx.lineSuffix.trim()) return true;
    const produced = nonEmpty(text.split("\n"));
    const following = nonEmpty([ctx.lineSuffix, ...ctx.nextLines]);
    return produced.length > 0 && produced.every((l, j) => l === following[j]);
}
