// How the number of skipped layers trades draft quality for draft cost on one model: the `clasp`
// mode (DP-chosen skip sets, M = round(ratio · L) layers) at each ratio, decoded in the mode
// comparison's prompt loop right after the other modes, so machine drift hits them alike.
import type { Token } from "node-llama-cpp";
import type { Decoder } from "../src/engine/decoding.ts";
import type { Prompt } from "../src/engine/promptLayout.ts";
import { defaultSpeculationSettings } from "../src/engine/protocol.ts";
import { skipCountFor } from "../src/engine/clasp/controller.ts";
import { createSpeculativeDecoder } from "../src/engine/clasp/speculativeDecoder.ts";
import type { ClaspNative } from "../src/engine/native/index.ts";
import type { ThreadPlan } from "../src/engine/threadPlan.ts";
import { idealBound, type TimedDecode } from "./timedDecode.ts";

export const sweptSkipRatios = [0.2, 0.3, 0.4, 0.5, 0.6] as const;

export interface SkipRatioPoint {
    skipRatio: number;
    /** M, the layers each draft skips. */
    skippedLayers: number;
    /** Accepted draft tokens ÷ drafted tokens. */
    acceptance: number;
    /** Tokens per verify round (accepted drafts + the model's own token). */
    meanAccepted: number;
    /** Draft ms per drafted token ÷ the best plain decoding's ms per token. */
    draftCostRatio: number | null;
    /** Mean time of one layer-selection DP, ms. */
    dpMs: number | null;
    idealBound: number | null;
    /** tokens/s ÷ the best plain tokens/s of the same run (wall time). */
    speedup: number;
    lossless: boolean;
}

/** The sweep, or why it could not run on this model (no layer-skip primitives). */
export type SkipRatioSweep = SkipRatioPoint[] | { notRun: string };

export interface SkipRatioSweeper {
    /** Decodes `prompt` at every ratio, right after plain decoding gave `reference` in the same loop. */
    measure(run: (decoder: Decoder, prompt: Prompt) => Promise<TimedDecode>, prompt: Prompt, reference: readonly Token[]): Promise<void>;
    /** The sweep against plain decoding at `plainRate` tokens/s (the run's best plain). */
    points(plainRate: number): SkipRatioPoint[];
}

/**
 * One `clasp` decoder per ratio on `native`'s sequence. The mode comparison calls `measure` in its
 * prompt loop, so the sweep shares its prompts, its prefill and its plain reference.
 */
export function skipRatioSweeper(native: ClaspNative, threadPlan?: ThreadPlan): SkipRatioSweeper {
    const decoders = sweptSkipRatios.map((skipRatio) =>
        createSpeculativeDecoder({ ...defaultSpeculationSettings, mode: "clasp", skipRatio }, { native, threadPlan }));
    const tallies = decoders.map(() => ({ tokens: 0, ms: 0, lossless: true }));
    return {
        async measure(run, prompt, reference) {
            for (const [k, decoder] of decoders.entries()) {
                const result = await run(decoder, prompt);
                tallies[k]!.tokens += result.tokens.length;
                tallies[k]!.ms += result.ms;
                if (result.tokens.join() !== reference.join()) tallies[k]!.lossless = false;
            }
        },
        points(plainRate) {
            const plainMsPerToken = 1000 / plainRate;
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
        },
    };
}
