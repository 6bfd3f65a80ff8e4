// One timed decode of one prompt, and the cost model's bound for a decoder's run: shared by the
// mode comparison (measureModel.ts) and the skip-ratio sweep (skipRatioSweep.ts).
import type { LlamaContextSequence, Token } from "node-llama-cpp";
import { prefill, type Decoder } from "../src/engine/decoding.ts";
import type { Prompt } from "../src/engine/promptLayout.ts";
import { expectedTokensPerRound, uniformAcceptance } from "../src/engine/clasp/costModel.ts";
import type { SpeculativeDecoder } from "../src/engine/clasp/speculativeDecoder.ts";

export interface TimedDecode {
    tokens: Token[];
    /** Decode wall time (prefill excluded). */
    ms: number;
    /** Process CPU time of the decode. */
    cpuMs: number;
}

/** Prefills `prompt` (reusing the cached KV) and decodes up to `maxTokens` greedily. */
export async function timedDecode(sequence: LlamaContextSequence, decoder: Decoder, prompt: Prompt, maxTokens: number): Promise<TimedDecode> {
    await prefill(sequence, prompt.tokens);
    const tokens: Token[] = [];
    const cpuStarted = process.cpuUsage();
    const started = performance.now();
    await decoder.decode({
        sequence, pending: prompt.tokens.at(-1)!, maxTokens, temperature: 0, lookupSource: prompt.lookupSource,
        onTokens(batch) {
            tokens.push(...batch);
            return true;
        },
    });
    const ms = performance.now() - started;
    const cpu = process.cpuUsage(cpuStarted);
    return { tokens, ms, cpuMs: (cpu.user + cpu.system) / 1000 };
}

/**
 * The cost model's bound for this run, in units of this run's plain decoding time per token:
 * measured α, mean draft length γ, draft cost c per token and verify cost V(γ+1), no overheads.
 */
export function idealBound(decoder: SpeculativeDecoder, plainRate: number): number | null {
    const totals = decoder.totals;
    if (totals.drafted === 0 || totals.draftRounds === 0) return null;
    const plainMs = 1000 / plainRate;
    const alpha = totals.accepted / totals.drafted;
    const gamma = Math.max(1, Math.round(totals.drafted / totals.draftRounds));
    // lookup drafts are free, so the draft time is spread over every drafted token
    const draftCost = totals.layerSkipDraftMs / totals.drafted / plainMs;
    const verifyMs = decoder.controller.verify.estimateMs(gamma + 1);
    if (verifyMs === undefined) return null;
    return expectedTokensPerRound(uniformAcceptance(alpha), gamma) / (gamma * draftCost + verifyMs / plainMs);
}
