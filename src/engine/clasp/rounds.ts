// How one speculative round runs: draft, verify [pending, ...draft] with the full model, keep the
// longest agreeing prefix plus the model's own next token (or speculative sampling at T > 0),
// remove the rejected KV cells and, when asked, re-select the skipped layers. With the patched
// build all of it is one native call; on node-llama-cpp's stock binary only prompt-lookup drafts
// exist and the verify goes through its public controlledEvaluate.
import type { LlamaContextSequence, Token } from "node-llama-cpp";
import type { ClaspNative, PhaseThreads } from "../native/index.ts";
import { acceptGreedy, acceptSampled, pointMass, seededUniform } from "./acceptance.ts";
import { verifyBatch } from "./verify.ts";

export type RoundDraft =
    | { kind: "none" }
    | { kind: "lookup"; tokens: Token[] }
    | { kind: "layerSkip"; mask: Uint8Array; maxTokens: number; minConfidence: number };

export interface RoundRequest {
    pending: Token;
    /** The sequence holds [0, startPos); pending goes to startPos. */
    startPos: number;
    draft: RoundDraft;
    /** Re-select `numSkip` layers from this round's verify: from pending (`atPending`) or the last accepted token. */
    dp?: { numSkip: number; atPending: boolean };
    /** 0 = greedy. */
    temperature: number;
    /** Seeds this round's draws (sampling only). */
    seed: number;
}

export interface RoundOutcome {
    /** What was verified after pending. */
    draft: Token[];
    accepted: number;
    /** The model's token after the accepted drafts; not yet in the KV cache. */
    next: Token;
    /** The DP's new skip set (when asked). */
    mask?: Uint8Array;
    draftMs: number;
    verifyMs: number;
    dpMs: number;
}

/** Runs rounds on one sequence; afterwards it holds [0, startPos + 1 + accepted). */
export interface RoundRunner {
    readonly layerSkip: boolean;
    run(request: RoundRequest): Promise<RoundOutcome>;
}

/** node-llama-cpp 3.21.1's sampler defaults for evaluate() (LlamaContextSequence._resolveSamplerConfig): plain decoding's. */
const plainSampler = { topK: 40, topP: 0.95, minP: 0 } as const;

/** The patched build: the whole round in one native call. */
export function nativeRounds(native: ClaspNative, threads?: PhaseThreads): RoundRunner {
    return {
        layerSkip: true,
        async run({ pending, startPos, draft, dp, temperature, seed }) {
            const result = await native.round({
                pending,
                startPos,
                proposal: draft.kind === "lookup" ? draft.tokens : undefined,
                layerSkip: draft.kind === "layerSkip" ? draft : undefined,
                sampling: temperature > 0 ? { temperature, seed, ...plainSampler } : undefined,
                dp,
                threads,
            });
            return {
                draft: result.draft,
                accepted: result.accepted,
                next: result.next,
                mask: result.mask ?? undefined,
                draftMs: result.draftMs,
                verifyMs: result.verifyMs,
                dpMs: result.dpMs,
            };
        },
    };
}

/** node-llama-cpp's stock binary: lookup drafts verified through controlledEvaluate, then erased where rejected. */
export function nodeLlamaCppRounds(sequence: LlamaContextSequence): RoundRunner {
    return {
        layerSkip: false,
        async run({ pending, startPos, draft, dp, temperature, seed }) {
            if (draft.kind === "layerSkip" || dp) throw new Error("layer-skip drafts and the DP need the CLaSp-patched build");
            const tokens = draft.kind === "lookup" ? draft.tokens : [];
            const verification = await verifyBatch(sequence, [pending, ...tokens], temperature, seed);
            const verdict = temperature > 0
                ? acceptSampled(tokens, verification.distributions!, tokens.map(pointMass), seededUniform(seed))
                : acceptGreedy(tokens, verification.tokens!);
            const keepEnd = startPos + 1 + verdict.accepted;
            if (sequence.nextTokenIndex > keepEnd)
                await sequence.eraseContextTokenRanges([{ start: keepEnd, end: sequence.nextTokenIndex }]);
            return { draft: tokens, accepted: verdict.accepted, next: verdict.next, draftMs: 0, verifyMs: verification.ms, dpMs: 0 };
        },
    };
}
