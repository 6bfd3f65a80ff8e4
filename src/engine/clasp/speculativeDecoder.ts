// The speculative round loop: each round drafts, verifies [pending, ...draft] with the full model,
// keeps the longest agreeing prefix plus the model's own next token (or speculative sampling at
// T > 0), erases the rejected KV and, when due, re-selects the skipped layers — one native call
// with the patched build (rounds.ts). The mode policy decides each round's draft, the calibration
// times plain decoding for the live speedup. Every mode emits exactly what plain decoding emits;
// only the number of model calls changes.
import type { LlamaContextSequence, Token } from "node-llama-cpp";
import { batchInvariantRows, type DecodeEnd, type DecodeInput, type DecodeOutcome, type Decoder } from "../decoding.ts";
import type { SpeculationMode, SpeculationSettings, SpeculationStats } from "../protocol.ts";
import type { ThreadPlan } from "../threadPlan.ts";
import { seededUniform } from "./acceptance.ts";
import { PlainCalibration } from "./calibration.ts";
import type { SpeculationController } from "./controller.ts";
import { ModePolicy, type RoundPlan } from "./modePolicy.ts";
import type { ClaspNative, PhaseThreads } from "../native/index.ts";
import { PromptLookup, type CopyDrafter } from "./promptLookup.ts";
import { nativeRounds, nodeLlamaCppRounds, type RoundDraft, type RoundOutcome, type RoundRunner } from "./rounds.ts";
import { RequestStatsRecorder, RollingSpeculationStats } from "./stats.ts";

export const nativeBuildHint = "build the patched llama.cpp with `npm run build:native`";

export interface SpeculationDeps {
    /** The native layer-skip primitives for this sequence (the `clasp` and `hybrid` modes need them). */
    native?: ClaspNative;
    /** Self-SD-like baseline: draft with this fixed skip set and never run the DP. */
    staticMask?: Uint8Array;
    /** Why `native` is absent, for the error a layer-skip mode gives. */
    nativeUnavailable?: string;
    /** Measured thread counts and costs per phase (threadPlan.ts): rounds use them, the controller starts from them. */
    threadPlan?: ThreadPlan;
    /** The clock the stats time decodes with (milliseconds); tests pass a fake one. */
    now?: () => number;
    /**
     * Replaces prompt lookup as the lookup modes' drafter, given the evaluated context and the
     * pending token (the benchmark's ngram-mod peer, ngramMod.ts).
     */
    copyDrafter?: (context: readonly Token[], pending: Token) => CopyDrafter;
}

/** Cumulative counters over the decoder's life (benchmarks and diagnostics). */
export interface DecoderTotals {
    /** Verify rounds, plus one per plainly decoded token. */
    rounds: number;
    /** Rounds that verified at least one draft token. */
    draftRounds: number;
    drafted: number;
    accepted: number;
    /** Time spent drafting with skipped layers (lookup drafts cost ~0 and are not timed). */
    layerSkipDraftMs: number;
    dpRuns: number;
    dpMs: number;
}

const lookupContextTail = 16;
const modes: readonly SpeculationMode[] = ["off", "clasp", "lookup", "hybrid", "auto"];

/**
 * The speculative decoder of one sequence. It keeps what it learns (skip set, controller
 * measurements, rolling stats) across requests, so create one per sequence and reuse it.
 */
export class SpeculativeDecoder implements Decoder {
    readonly rolling: RollingSpeculationStats;
    readonly totals: DecoderTotals = { rounds: 0, draftRounds: 0, drafted: 0, accepted: 0, layerSkipDraftMs: 0, dpRuns: 0, dpMs: 0 };
    #settings: SpeculationSettings;
    readonly #native?: ClaspNative;
    readonly #nativeUnavailable?: string;
    #threadPlan?: ThreadPlan;
    readonly #now: () => number;
    readonly #policy: ModePolicy;
    readonly #calibration: PlainCalibration;
    readonly #copyDrafter?: SpeculationDeps["copyDrafter"];
    #nativeRunner?: RoundRunner;

    constructor(settings: SpeculationSettings, deps: SpeculationDeps = {}) {
        this.#native = deps.native?.info.supported ? deps.native : undefined;
        this.#nativeUnavailable = deps.nativeUnavailable ?? (deps.native ? "the model's architecture cannot skip layers" : "no native primitives were given");
        this.#threadPlan = deps.threadPlan;
        this.#now = deps.now ?? (() => performance.now());
        this.#copyDrafter = deps.copyDrafter;
        validateSettings(settings);
        this.#requireNative(settings.mode);
        this.#settings = { ...settings };
        this.rolling = new RollingSpeculationStats(settings.mode);
        this.#calibration = new PlainCalibration(this.rolling, this.#now);
        this.#policy = new ModePolicy(this.#settings, this.#native?.info.nLayer, deps.staticMask);
        if (deps.threadPlan) seedController(this.#policy, deps.threadPlan);
        if (this.#native) this.#nativeRunner = nativeRounds(this.#native, phaseThreadsOf(deps.threadPlan));
    }

    /** The layer-skip primitives, when the build and the model have them. */
    get native(): ClaspNative | undefined {
        return this.#native;
    }

    /** The thread plan the rounds run with (absent: the context's own counts). */
    get threadPlan(): ThreadPlan | undefined {
        return this.#threadPlan;
    }

    /**
     * Rounds from now on run each phase at the plan's thread count. Every cost measured so far was
     * at other counts: the controller starts again from the plan's costs, and the live speedup from
     * a new plain-decoding baseline (a baseline timed at the old counts would flatter or wrong it).
     */
    useThreadPlan(plan: ThreadPlan): void {
        this.#threadPlan = plan;
        this.#policy.controller.restartCosts();
        seedController(this.#policy, plan);
        this.rolling.restartBaseline();
        this.#calibration.restart();
        if (this.#native) this.#nativeRunner = nativeRounds(this.#native, phaseThreadsOf(plan));
    }

    get settings(): SpeculationSettings {
        return this.#settings;
    }

    /** The online measurements (verify cost by batch size, draft cost, acceptance). */
    get controller(): SpeculationController {
        return this.#policy.controller;
    }

    /** The skip set the layer-skip draft uses now (null before the first DP). */
    get skipMask(): Uint8Array | null {
        return this.#policy.skipSet?.mask ?? null;
    }

    stats(): SpeculationStats {
        return this.rolling.snapshot();
    }

    /** Applies new settings; invalid ones (or a layer-skip mode without native code) throw and change nothing. */
    configure(settings: SpeculationSettings): void {
        validateSettings(settings);
        this.#requireNative(settings.mode);
        this.#settings = { ...settings };
        this.rolling.mode = settings.mode;
        this.#policy.configure(this.#settings);
    }

    #requireNative(mode: SpeculationMode): void {
        if ((mode === "clasp" || mode === "hybrid") && !this.#native)
            throw new Error(`the ${mode} mode needs the CLaSp native layer-skip primitives (${this.#nativeUnavailable}); ${nativeBuildHint}, or use the lookup, auto or off mode`);
    }

    async decode(input: DecodeInput): Promise<DecodeOutcome> {
        if (this.#settings.mode === "off") return this.#calibration.decodePlain(input);
        const started = this.#now();
        const { sequence, signal, maxTokens } = input;
        const settings = this.#settings;
        const policy = this.#policy;
        const request = new RequestStatsRecorder(settings.mode);
        const uniform = seededUniform(input.seed ?? Date.now());
        const nextSeed = () => Math.floor(uniform() * 2 ** 32);
        const runner = this.#nativeRunner ?? nodeLlamaCppRounds(sequence);
        const lookup = policy.usesLookup ? this.#newCopyDrafter(input) : undefined;
        policy.beginRequest();

        let pending = input.pending;
        let generated = 0;
        let keepEnd = sequence.nextTokenIndex; // KV cells past this are not (or no longer) committed
        /** Hands one token to the caller, as plain decoding would; returns why decoding ends, if it does. */
        const emitOne = (token: Token): DecodeEnd | undefined => {
            if (signal?.aborted) return "abort";
            if (sequence.model.isEogToken(token)) return "eog";
            generated++;
            lookup?.push([token]);
            if (!input.onTokens([token])) return "stopped";
            return generated >= maxTokens ? "maxTokens" : undefined;
        };
        const finish = (end: DecodeEnd): DecodeOutcome => {
            const speculation = request.toStats(policy.skipSet?.skipSet);
            this.rolling.recordRequest({ stats: speculation, generatedTokens: generated, end, decodeMs: this.#now() - started });
            return { end, generatedTokens: generated, speculation };
        };
        try {
            while (true) {
                if (signal?.aborted) return finish("abort");
                const startPos = sequence.nextTokenIndex;
                // Near the end of the context, speculate only while drafts, DP candidates and the verify batch fit:
                // a context shift in the middle of a round would move the positions this loop relies on.
                const room = sequence.contextSize - startPos - 1;
                const layerSkipFits = runner.layerSkip && room - settings.maxDraftTokens - (policy.skipSet?.options.skipCount ?? 0) - 1 > 0;
                const cap = Math.min(settings.maxDraftTokens, maxTokens - generated - 1, room - 1);
                const plan = policy.plan({ cap, layerSkipFits, lookup, calibrationDue: this.#calibration.due });
                this.rolling.setSpeculating(policy.speculating(plan));

                if (plan.source === "none" && !plan.dp) {
                    // Nothing worth verifying: decode plainly (node-llama-cpp's own path) until a draft may pay again.
                    const burst = await this.#calibration.burst(sequence, pending, plan.gamma, { temperature: input.temperature, seed: nextSeed() },
                        emitOne, plan.calibrating || !lookup ? () => false : () => policy.lookupReady(lookup, cap));
                    keepEnd = sequence.nextTokenIndex;
                    policy.afterPlain(burst.count, burst.stepMs);
                    this.totals.rounds += burst.count; // each plain token is a round that verified nothing
                    for (let i = 0; i < burst.count; i++) request.recordRound(0, 0);
                    if (burst.end) return finish(burst.end);
                    pending = burst.last;
                    continue;
                }

                keepEnd = startPos; // a round that fails commits nothing
                const outcome = await runner.run({
                    pending, startPos, draft: roundDraft(plan, settings.minConfidence, this.skipMask), dp: plan.dp,
                    temperature: input.temperature, seed: nextSeed(),
                });
                keepEnd = startPos + 1 + outcome.accepted;
                if (signal?.aborted) return finish("abort");
                policy.afterRound(plan, outcome);
                if (plan.source === "lookup") lookup?.verified?.(outcome.draft.length, outcome.accepted);
                this.#count(plan, outcome, request);

                // The round's tokens reach the caller in one call, cut where plain decoding would have stopped:
                // at maxTokens (checked after each token) or before an end-of-generation token.
                const emitted = [...outcome.draft.slice(0, outcome.accepted), outcome.next];
                const eog = emitted.findIndex((token) => sequence.model.isEogToken(token));
                const left = maxTokens - generated;
                const take = Math.min(emitted.length, left, eog < 0 ? Infinity : eog);
                const batch = emitted.slice(0, take);
                this.#calibration.countTokens(take);
                if (take > 0) {
                    generated += take;
                    lookup?.push(batch);
                    // plain decoding never evaluated the last token it handed over: neither does this KV cache
                    keepEnd = startPos + take;
                    if (!input.onTokens(batch)) return finish("stopped");
                }
                if (take === left) return finish("maxTokens");
                if (take === eog) {
                    keepEnd = startPos + 1 + take; // plain decoding evaluated the token before the end of generation
                    return finish("eog");
                }
                keepEnd = startPos + 1 + outcome.accepted;
                pending = outcome.next;
            }
        } finally {
            if (sequence.nextTokenIndex > keepEnd) await sequence.eraseContextTokenRanges([{ start: keepEnd, end: sequence.nextTokenIndex }]);
        }
    }

    #newCopyDrafter({ sequence, pending, lookupSource }: DecodeInput): CopyDrafter {
        if (this.#copyDrafter) return this.#copyDrafter(sequence.contextTokens, pending);
        const lookup = new PromptLookup(lookupSource ?? sequence.contextTokens);
        lookup.push([...sequence.contextTokens.slice(-lookupContextTail), pending]);
        return lookup;
    }

    #count(plan: RoundPlan, outcome: RoundOutcome, request: RequestStatsRecorder): void {
        const totals = this.totals;
        const drafted = outcome.draft.length;
        totals.rounds++;
        if (drafted > 0) totals.draftRounds++;
        totals.drafted += drafted;
        totals.accepted += outcome.accepted;
        if (plan.source === "layerSkip") totals.layerSkipDraftMs += outcome.draftMs;
        request.recordRound(drafted, outcome.accepted);
        if (outcome.mask) {
            request.recordDp(outcome.dpMs);
            totals.dpRuns++;
            totals.dpMs += outcome.dpMs;
        }
    }
}

function roundDraft(plan: RoundPlan, minConfidence: number, mask: Uint8Array | null): RoundDraft {
    if (plan.source === "lookup") return { kind: "lookup", tokens: plan.proposal.slice(0, plan.gamma) };
    if (plan.source === "layerSkip" && mask) return { kind: "layerSkip", mask, maxTokens: plan.gamma, minConfidence };
    return { kind: "none" };
}

/** The thread counts each phase of a native round runs at (absent: the context's own). */
function phaseThreadsOf(plan: ThreadPlan | undefined): PhaseThreads | undefined {
    return plan && { single: plan.threads.draft, batch: plan.threads.verify, dp: plan.threads.dp };
}

/** The thread plan's costs, at the thread counts the rounds will use, as the controller's first estimates. */
function seedController(policy: ModePolicy, plan: ThreadPlan): void {
    const at = (threads: number) => plan.costs.find((cost) => cost.threads === threads);
    const plain = at(plan.threads.plain), verify = at(plan.threads.verify), draft = at(plan.threads.draft), dp = at(plan.threads.dp);
    if (!plain || !verify) return;
    const skipCount = policy.skipSet?.options.skipCount;
    policy.controller.seedCosts({
        stepMs: plain.tokenMs,
        batchMs: verify.batchMs,
        draftTokenMs: draft?.draftTokenMs !== undefined && skipCount !== undefined ? { skipCount, ms: draft.draftTokenMs } : undefined,
        dpMs: dp?.dpMs,
    });
}

function validateSettings(settings: SpeculationSettings): void {
    if (!modes.includes(settings.mode)) throw new Error(`unknown speculation mode "${settings.mode}" (expected one of ${modes.join(", ")})`);
    // a verify batch is the pending token and the drafts: beyond batchInvariantRows rows it would run
    // the batched kernels and stop being bit for bit a run of one-token steps
    const maxDrafts = batchInvariantRows - 1;
    if (!(Number.isInteger(settings.maxDraftTokens) && settings.maxDraftTokens >= 1 && settings.maxDraftTokens <= maxDrafts))
        throw new Error(`maxDraftTokens must be an integer within 1..${maxDrafts}, got ${settings.maxDraftTokens}`);
    if (!(settings.minConfidence >= 0 && settings.minConfidence <= 1))
        throw new Error(`minConfidence must be within 0..1, got ${settings.minConfidence}`);
    if (!(Number.isInteger(settings.updateInterval) && settings.updateInterval >= 1))
        throw new Error(`updateInterval must be a positive integer, got ${settings.updateInterval}`);
    if (!(settings.skipRatio >= 0 && settings.skipRatio <= 0.8))
        throw new Error(`skipRatio must be within 0..0.8, got ${settings.skipRatio}`);
}

/** A decoder for `settings`; it keeps its learned state as long as it is reused. */
export function createSpeculativeDecoder(settings: SpeculationSettings, deps: SpeculationDeps = {}): SpeculativeDecoder {
    return new SpeculativeDecoder(settings, deps);
}
