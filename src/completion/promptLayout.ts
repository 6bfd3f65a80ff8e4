// Turns a document and a cursor into the prefix and suffix the engine completes. The window of
// lines around the cursor moves in whole chunks, so the start of the prompt (and every cached
// token after it) stays put while the cursor moves inside a chunk. The engine then puts the
// cursor's line last (after MID), so a keystroke re-evaluates one line, not the suffix.

export interface TextView {
    readonly lineCount: number;
    lineAt(line: number): string;
}

export interface CursorPosition {
    line: number;
    character: number;
}

export interface LayoutLimits {
    /** At least this many whole lines above the cursor line (more up to one chunk). */
    prefixLines: number;
    /** At least this many whole lines below the cursor line (more up to one chunk). */
    suffixLines: number;
    /** Window edges snap to multiples of this many lines. */
    chunkLines: number;
}

export const defaultLayoutLimits: LayoutLimits = { prefixLines: 192, suffixLines: 48, chunkLines: 32 };

export interface CursorContext {
    /** Text before the cursor inside the window, ending with `linePrefix`. */
    prefix: string;
    /** Text after the cursor inside the window, starting with `lineSuffix`. */
    suffix: string;
    linePrefix: string;
    lineSuffix: string;
    /** Lines after the cursor's line, nearest first (used to spot repeated text). */
    nextLines: string[];
}

export function buildCursorContext(doc: TextView, cursor: CursorPosition, limits = defaultLayoutLimits): CursorContext {
    if (cursor.line < 0 || cursor.line >= doc.lineCount) throw new RangeError(`line ${cursor.line} is outside the document`);
    const chunk = Math.max(1, limits.chunkLines);
    const line = doc.lineAt(cursor.line);
    const character = Math.min(Math.max(0, cursor.character), line.length);
    const linePrefix = line.slice(0, character);
    const lineSuffix = line.slice(character);

    const first = Math.max(0, Math.floor((cursor.line - limits.prefixLines) / chunk) * chunk);
    const last = Math.min(doc.lineCount - 1, Math.ceil((cursor.line + limits.suffixLines) / chunk) * chunk);

    const above: string[] = [];
    for (let i = first; i < cursor.line; i++) above.push(doc.lineAt(i));
    const nextLines: string[] = [];
    for (let i = cursor.line + 1; i <= last; i++) nextLines.push(doc.lineAt(i));

    const prefix = above.length > 0 ? `${above.join("\n")}\n${linePrefix}` : linePrefix;
    const suffix = nextLines.length > 0 ? `${lineSuffix}\n${nextLines.join("\n")}` : lineSuffix;
    return { prefix, suffix, linePrefix, lineSuffix, nextLines };
}

/** Whether the text right of the cursor means only the rest of this line may be completed. */
export function needsSingleLine(lineSuffix: string): boolean {
    return lineSuffix.trim().length > 0;
}

/**
 * Whether the cursor asks for a block rather than the rest of its line: an empty (or indented)
 * line, or one that opens a block (`{ ( [ :`, an arrow `=>` or `->`). Mid
 * statement the user wants the line they are typing, and ghost text shows only once generation
 * ends: a model without FIM would write on for many lines (SmolLM2 ran into the 1.5 s time cap on
 * every keystroke). The lines after it come as the next suggestion, prefetched (Tab, Tab).
 */
export function wantsBlock(linePrefix: string): boolean {
    const code = linePrefix.trimEnd();
    return code.trim().length === 0 || /(?:[{([:]|=>|->)$/.test(code);
}
