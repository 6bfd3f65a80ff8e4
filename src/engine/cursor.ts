/** Splits text at a 1-based line and column; positions past the end clamp to the end. */
export function splitAtCursor(text: string, line: number, column: number): { prefix: string; suffix: string } {
    let offset = 0;
    for (let current = 1; current < line; current++) {
        const newline = text.indexOf("\n", offset);
        if (newline < 0) return { prefix: text, suffix: "" };
        offset = newline + 1;
    }
    const lineEnd = text.indexOf("\n", offset);
    const lineLength = (lineEnd < 0 ? text.length : lineEnd) - offset;
    const at = offset + Math.min(column - 1, lineLength);
    return { prefix: text.slice(0, at), suffix: text.slice(at) };
}
