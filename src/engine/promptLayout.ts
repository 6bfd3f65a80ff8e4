// Turns (prefix, suffix, extra context) into prompt tokens for the loaded model.
//
// With FIM tokens the layout is  [extra] PRE <lines above the cursor> SUF <suffix> MID <cursor line so far>.
// Putting the cursor line after MID (as llama.vim does) means a keystroke only changes the very
// end of the prompt, so the KV cache keeps everything before it and a request re-evaluates one
// line instead of the whole suffix. Without FIM tokens it is a plain continuation of the prefix.
import type { LlamaModel, Token } from "node-llama-cpp";
import { tokenizeCached } from "./tokenizeCache.ts";

export interface PromptPieces {
    prefix: string;
    suffix: string;
    extraContext?: { path: string; text: string }[];
}

export interface PromptBudget {
    /** Total prompt tokens allowed (context size minus room for the answer). */
    maxTokens: number;
    /** Share of the budget the suffix may take (the prefix matters more). */
    suffixShare?: number;
    /** Share the extra context may take. */
    extraShare?: number;
    /** Lay out FIM when the model supports it (false: always a plain continuation). */
    fim?: boolean;
}

export interface Prompt {
    tokens: Token[];
    usedFim: boolean;
    /** Tokens a lookup drafter may copy from (prefix, suffix and extra context, no specials). */
    lookupSource: Token[];
}

export interface FimTokens {
    prefix: Token;
    suffix: Token;
    middle: Token;
}

/** FIM tokens as the model's vocabulary defines them; undefined when any is missing. */
export function fimTokensOf(model: LlamaModel): FimTokens | undefined {
    const { prefix, suffix, middle } = model.tokens.infill;
    if (prefix == null || suffix == null || middle == null) return undefined;
    return { prefix, suffix, middle };
}

export function buildPrompt(model: LlamaModel, pieces: PromptPieces, budget: PromptBudget): Prompt {
    const tokenize = (text: string): readonly Token[] => (text ? tokenizeCached(model, text) : []);
    const fim = budget.fim === false ? undefined : fimTokensOf(model);
    const bos = model.tokens.bos != null && model.tokens.shouldPrependBosToken ? [model.tokens.bos] : [];
    const specials = bos.length + (fim ? 3 : 0);
    const total = Math.max(8, budget.maxTokens - specials);

    const lastNewline = pieces.prefix.lastIndexOf("\n");
    const aboveText = fim ? pieces.prefix.slice(0, lastNewline + 1) : pieces.prefix;
    const cursorLine = fim ? pieces.prefix.slice(lastNewline + 1) : "";

    const cursorTokens = tokenize(cursorLine).slice(-Math.floor(total / 4));
    const suffixTokens = fim ? keepStart(tokenize(pieces.suffix), Math.floor(total * (budget.suffixShare ?? 0.25))) : [];
    const extraBudget = Math.floor(total * (budget.extraShare ?? 0.25));
    const extraTokens = keepStart(tokenize(formatExtra(pieces.extraContext ?? [])), extraBudget);
    const aboveBudget = total - cursorTokens.length - suffixTokens.length - extraTokens.length;
    const aboveTokens = keepEndAtLine(model, aboveText, aboveBudget);

    const tokens = fim
        ? [...bos, ...extraTokens, fim.prefix, ...aboveTokens, fim.suffix, ...suffixTokens, fim.middle, ...cursorTokens]
        : [...bos, ...extraTokens, ...aboveTokens];
    if (tokens.length === 0) tokens.push(...(bos.length ? bos : tokenize("\n")));
    return { tokens, usedFim: fim !== undefined, lookupSource: [...extraTokens, ...aboveTokens, ...cursorTokens, ...suffixTokens] };
}

function keepStart(tokens: readonly Token[], max: number): readonly Token[] {
    return tokens.length > max ? tokens.slice(0, Math.max(0, max)) : tokens;
}

/**
 * Keeps the end of `text` within `max` tokens, dropping whole 16-line chunks from the top so the
 * window's first tokens stay identical between keystrokes (the KV cache survives typing at the
 * cursor). Runs on every keystroke; the windows it tokenizes are the same texts as at the last
 * keystroke while the user types below them, so they come from the tokenization cache.
 */
function keepEndAtLine(model: LlamaModel, text: string, max: number): readonly Token[] {
    if (max <= 0 || !text) return [];
    const lines = text.split(/(?<=\n)/);
    const charsFrom = new Array<number>(lines.length + 1).fill(0);
    for (let i = lines.length - 1; i >= 0; i--) charsFrom[i] = charsFrom[i + 1]! + lines[i]!.length;
    const chunk = 16;
    const lastStart = Math.floor((lines.length - 1) / chunk) * chunk;
    const startWithin = (chars: number, from: number) => {
        let start = from;
        while (start < lastStart && charsFrom[start]! > chars) start += chunk;
        return start;
    };
    const tokenizeFrom = (start: number) => tokenizeCached(model, lines.slice(start).join(""));

    // No token is shorter than a byte and code averages over 3 characters per token, so a huge
    // file never reaches the tokenizer whole.
    let start = startWithin(max * 16, 0);
    // Even the last chunk is longer than that (minified code): keep its end.
    if (charsFrom[start]! > max * 16) return tokenizeCached(model, text.slice(-max * 16)).slice(-max);
    let kept = tokenizeFrom(start);
    if (kept.length > max) {
        const charsPerToken = charsFrom[start]! / kept.length;
        start = startWithin(Math.floor(max * charsPerToken), start);
        kept = tokenizeFrom(start);
    }
    while (kept.length > max && start < lastStart) {
        start += chunk;
        kept = tokenizeFrom(start);
    }
    return kept.length > max ? kept.slice(-max) : kept;
}

function formatExtra(chunks: { path: string; text: string }[]): string {
    return chunks.map((chunk) => `${chunk.text.replace(/\n*$/, "\n")}\n`).join("");
}
