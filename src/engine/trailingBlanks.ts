// Token healing for blanks at the cursor. BPE vocabularies attach a space to the word after it
// (" 0", " total") and indentation to the first token of a line, so a prompt that ends in a bare
// space or in the cursor line's indentation ends in a token the model rarely saw there: SmolLM2
// then often answers a newline, or repeats the space. The prompt is laid out without those blanks,
// and the part of them the answer starts with is taken off its front (the user already typed it).

/** The spaces and tabs the prefix ends with on its last line ("" when it ends in anything else). */
export function trailingBlanks(prefix: string): string {
    // from the end: the prefix is the whole prompt window, and this runs on every keystroke
    let start = prefix.length;
    while (start > 0 && (prefix[start - 1] === " " || prefix[start - 1] === "\t")) start--;
    return prefix.slice(start);
}

/** `text` without the longest start it shares with `blanks`. */
export function withoutTypedBlanks(text: string, blanks: string): string {
    let shared = 0;
    while (shared < blanks.length && shared < text.length && text[shared] === blanks[shared]) shared++;
    return text.slice(shared);
}
