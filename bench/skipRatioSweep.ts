// How the number of skipped layers trades draft quality for draft cost on one model: the `clasp`
// mode (DP-chosen skip sets, M = round(ratio · L) layers) at each ratio, against plain greedy
// decoding on the same sequence, prompt by prompt (plain first, then every ratio) so machine
// drift hits them alike.
import type { LlamaContextSequence } from "node-llama-cpp";
import { plainDecoder } from "../src/engine/decoding.ts";
import type { Prompt } from "../src/engine/promptLayout.ts";
import { defaultSpeculationSettings } from "../src/engine/protocol.ts";
import { skipCountFor } from "../src/engine/clasp/controller.ts";
import { createSpeculativeDecoder } from "../src/engine/clasp/speculativeDecoder.ts";
import type { ClaspNative } from "../src/engine/native/index.ts";
import { idealBound, timedDecode } from "./timedDecode.ts";

export const sweptSkipRatios = [0.2, 0.3, 0.4, 0.5, 0.6] as const;

export interface SkipRatioPoint {
    skipRatio: number;
    /** M, the layers each draft skips. */
    skippedLayers: number;
    /** Accepted draft tokens ÷ drafted tokens. */
    acceptance: number;
    /** Tokens per verify round (accepted drafts + the model's own token). */
    meanAccepted: number;
    /** Draft ms per drafted token ÷ plain ms per token (both from this sweep). */
    draftCostRatio: number | null;
    /** Mean time of one layer-selection DP, ms. */
    dpMs: number | null;
    idealBound: number | null;
    /** tokens/s ÷ the sweep's own plain tokens/s (wall time). */
    speedup: number;
    lossless: boolean;
}

/** The sweep, or why it could not run on this model (no layer-skip primitives). */
export type SkipRatioSweep = SkipRatioPoint[] | { notRun: string };

export interface SweepInput {
    sequence: LlamaContextSequence;
    native: ClaspNative;
    prompts: Prompt[];
    maxTokens: number;
    log(message: string): void;
}

export async function sweepSkipRatios({ sequence, native, prompts, maxTokens, log }: SweepInput): Promise<SkipRatioPoint[]> {
    const decoders = sweptSkipRatios.map((skipRatio) =>
        createSpeculativeDecoder({ ...defaultSpeculationSettings, mode: "clasp", skipRatio }, { native }));
    const plain = { tokens: 0, ms: 0 };
    const tallies = decoders.map(() => ({ tokens: 0, ms: 0, lossless: true }));
    for (const [i, prompt] of prompts.entries()) {
        const reference = await timedDecode(sequence, plainDecoder, prompt, maxTokens);
        plain.tokens += reference.tokens.length;
        plain.ms += reference.ms;
        for (const [k, decoder] of decoders.entries()) {
            const result = await timedDecode(sequence, decoder, prompt, maxTokens);
            tallies[k]!.tokens += result.tokens.length;
            tallies[k]!.ms += result.ms;
            if (result.tokens.join() !== reference.tokens.join()) tallies[k]!.lossless = false;
        }
        log(`  skip-ratio sweep: prompt ${i + 1}/${prompts.length}`);
    }
    const plainRate = (plain.tokens * 1000) / plain.ms;
    const plainMsPerToken = plain.ms / plain.tokens;
    return decoders.map((decoder, k) => {
        const totals = decoder.totals;
        const tally = tallies[k]!;
        return {
            skipRatio: sweptSkipRatios[k]!,
            skippedLayers: skipCountFor(native.info.nLayer, sweptSkipRatios[k]!),
            acceptance: totals.drafted > 0 ? totals.accepted / totals.drafted : 0,
            meanAccepted: totals.rounds > 0 ? (totals.accepted + totals.rounds) / totals.rounds : 1,
            draftCostRatio: totals.drafted > 0 ? totals.layerSkipDraftMs / totals.drafted / plainMsPerToken : null,
            dpMs: totals.dpRuns > 0 ? totals.dpMs / totals.dpRuns : null,
            idealBound: idealBound(decoder, plainRate),
            speedup: (tally.tokens * 1000) / tally.ms / plainRate,
            lossless: tally.lossless,
        };
    });
}
