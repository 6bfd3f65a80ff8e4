// One plain greedy decode of a prompt from an empty KV cache, its prefill timed as well. The patched
// and the stock binary both run exactly this, so their numbers compare like for like.
import type { LlamaContextSequence } from "node-llama-cpp";
import { plainDecoder, prefill } from "../src/engine/decoding.ts";
import type { Prompt } from "../src/engine/promptLayout.ts";
import { timedDecode, type TimedDecode } from "./timedDecode.ts";

export interface PlainRun extends TimedDecode {
    /** Wall time to evaluate the prompt minus its last token from an empty cache. */
    prefillMs: number;
    prefillTokens: number;
}

export async function timedPlainRun(sequence: LlamaContextSequence, prompt: Prompt, maxTokens: number): Promise<PlainRun> {
    if (sequence.nextTokenIndex > 0) await sequence.eraseContextTokenRanges([{ start: 0, end: sequence.nextTokenIndex }]);
    const prefillStarted = performance.now();
    await prefill(sequence, prompt.tokens);
    const prefillMs = performance.now() - prefillStarted;
    // the cache now holds the prompt, so timedDecode's own prefill evaluates nothing
    const decoded = await timedDecode(sequence, plainDecoder, prompt, maxTokens);
    return { ...decoded, prefillMs, prefillTokens: prompt.tokens.length - 1 };
}
