// Snippets from other open files, within a token budget, for the engine to place before the
// prefix. Recency decides which files get in; the chosen snippets are then ordered by path, so
// switching between two files does not reorder the start of the prompt (and throw away the
// engine's KV cache behind it) when the same files are chosen.

export interface OpenFile {
    path: string;
    languageId: string;
    text: string;
    /** Larger = used more recently. */
    lastUsed: number;
}

export interface Snippet {
    path: string;
    text: string;
}

/** A rough tokens-per-character ratio for code; exact counts would need the engine's tokenizer. */
export const charsPerToken = 3.5;

export function estimateTokens(text: string): number {
    return Math.ceil(text.length / charsPerToken);
}

/**
 * Picks the head of each other file (where imports and declarations live), same-language files
 * first, newest first, until the budget is spent; returns them ordered by path. A file that does not fit whole is cut at a
 * line boundary.
 */
export function selectExtraContext(files: readonly OpenFile[], current: { path: string; languageId: string }, budgetTokens: number): Snippet[] {
    if (budgetTokens <= 0) return [];
    const candidates = files
        .filter((f) => f.path !== current.path && f.text.trim().length > 0)
        .sort(
            (a, b) =>
                Number(b.languageId === current.languageId) - Number(a.languageId === current.languageId) ||
                b.lastUsed - a.lastUsed ||
                a.path.localeCompare(b.path),
        );
    const snippets: Snippet[] = [];
    let remaining = budgetTokens;
    for (const file of candidates) {
        if (remaining < 16) break;
        const text = headWithin(file.text, remaining);
        if (text.length === 0) continue;
        snippets.push({ path: file.path, text });
        remaining -= estimateTokens(text);
    }
    return snippets.sort((a, b) => a.path.localeCompare(b.path));
}

function headWithin(text: string, tokens: number): string {
    const maxChars = Math.floor(tokens * charsPerToken);
    if (text.length <= maxChars) return text;
    const cut = text.lastIndexOf("\n", maxChars);
    return cut > 0 ? text.slice(0, cut + 1) : "";
}
