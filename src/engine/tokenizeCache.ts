// Tokenizing is the one cost of a prompt layout that grows with the file (about 0.4 ms per 1,000
// characters of code on SmolLM2's tokenizer, 2 cores), and every keystroke lays out a prompt twice:
// the warm-up after the edit and the request. While the user types on one line, the pieces of the
// prompt other than that line (the lines above it, the suffix, the other files' snippets) are the
// same text as at the previous keystroke, so this keeps the tokens of the last few texts and the
// layout tokenizes only what changed. Exact: a text's tokens are whatever the tokenizer returned.
import type { LlamaModel, Token } from "node-llama-cpp";

/**
 * Texts remembered per model. A keystroke's layout uses about six (suffix, snippets, the chunk
 * windows tried, the cursor line); a shared engine lays out for up to three windows in turn.
 */
const capacity = 24;

const caches = new WeakMap<LlamaModel, Map<string, readonly Token[]>>();

/** The model's tokens for `text` (no special tokens added), from the cache when it was tokenized lately. */
export function tokenizeCached(model: LlamaModel, text: string): readonly Token[] {
    let cache = caches.get(model);
    if (!cache) caches.set(model, (cache = new Map()));
    const cached = cache.get(text);
    if (cached) {
        // most recently used last, so the oldest is the first key
        cache.delete(text);
        cache.set(text, cached);
        return cached;
    }
    const tokens = Object.freeze(model.tokenize(text, false));
    cache.set(text, tokens);
    if (cache.size > capacity) cache.delete(cache.keys().next().value!);
    return tokens;
}
