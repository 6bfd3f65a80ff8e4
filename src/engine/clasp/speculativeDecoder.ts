// The speculative decoding loop: draft → verify in one batch → keep the longest agreeing prefix
// plus the model's own next token (or speculative sampling at T > 0) → erase the rejected KV →
// (CLaSp) re-select the skipped layers from the hidden states of the last accepted token.
// Every mode emits exactly what plain decoding emits; only the number of model calls changes.
import type { LlamaContextSequence, Token } from "node-llama-cpp";
import { plainDecoder, type DecodeEnd, type DecodeInput, type DecodeOutcome, type Decoder } from "../decoding.ts";
import type { SpeculationMode, SpeculationSettings, SpeculationStats } from "../protocol.ts";
import { acceptGreedy, acceptSampled, pointMass, seededUniform, type DraftProbability } from "./acceptance.ts";
import { SpeculationController, skipCandidates, skipCountFor, type DraftSource } from "./controller.ts";
import { LayerSkipDrafter } from "./layerSkipDrafter.ts";
import type { ClaspNative } from "../native/index.ts";
import { PromptLookup } from "./promptLookup.ts";
import { RequestStatsRecorder, RollingSpeculationStats } from "./stats.ts";
import { verifyBatch } from "./verify.ts";

export const nativeBuildHint = "build the patched llama.cpp with `npm run build:native`";

export interface SpeculationDeps {
    /** The native layer-skip primitives for this sequence (the `clasp` and `hybrid` modes need them). */
    native?: ClaspNative;
    /** Self-SD-like baseline: draft with this fixed skip set and never run the DP. */
    staticMask?: Uint8Array;
    /** Why `native` is absent, for the error a layer-skip mode gives. */
    nativeUnavailable?: string;
    /** The clock the stats time decodes with (milliseconds); tests pass a fake one. */
    now?: () => number;
}

interface Draft {
    source: DraftSource | "none";
    tokens: Token[];
    probabilities: DraftProbability[];
    ms: number;
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

/** Plain tokens per refresh window: enough to time plain decoding without costing much speed. */
const calibrationSteps = 4;
const calibrationWindowTokens = 256;
/** Longest plain stretch before the drafters are consulted again (lookup matches end it sooner). */
const plainBurstTokens = 8;
const lookupContextTail = 16;

interface RoundPlan {
    source: DraftSource | "none";
    /** Draft length, or with "none" the most tokens to decode plainly. */
    gamma: number;
    calibrating: boolean;
    /** What prompt lookup proposed for this round (a lookup draft is its first `gamma` tokens). */
    proposal: Token[];
}

const noDraft: Draft = { source: "none", tokens: [], probabilities: [], ms: 0 };

/**
 * The speculative decoder of one sequence. It keeps what it learns (skip set, controller
 * measurements, rolling stats) across requests, so create one per sequence and reuse it.
 */
export class SpeculativeDecoder implements Decoder {
    readonly rolling: RollingSpeculationStats;
    #settings: SpeculationSettings;
    readonly #native?: ClaspNative;
    readonly #staticMask?: Uint8Array;
    readonly #nativeUnavailable?: string;
    readonly #now: () => number;
    #controller?: SpeculationController;
    #layerSkip?: LayerSkipDrafter;
    #plainStepsInWindow = 0;
    #tokensInWindow = 0;
    readonly totals: DecoderTotals = { rounds: 0, draftRounds: 0, drafted: 0, accepted: 0, layerSkipDraftMs: 0, dpRuns: 0, dpMs: 0 };

    constructor(settings: SpeculationSettings, deps: SpeculationDeps = {}) {
        this.#native = deps.native;
        this.#staticMask = deps.staticMask;
        this.#nativeUnavailable = deps.nativeUnavailable;
        this.#now = deps.now ?? (() => performance.now());
        this.#settings = { ...settings };
        this.rolling = new RollingSpeculationStats(settings.mode);
        this.configure(settings);
    }

    get settings(): SpeculationSettings {
        return this.#settings;
    }

    /** The online measurements (verify cost by batch size, draft cost, acceptance). */
    get controller(): SpeculationController {
        return this.#controller!;
    }

    /** The skip set the layer-skip draft uses now (null before the first DP). */
    get skipMask(): Uint8Array | null {
        return this.#layerSkip?.mask ?? null;
    }

    stats(): SpeculationStats {
        return this.rolling.snapshot();
    }

    /** Applies new settings; invalid ones (or a layer-skip mode without native code) throw and change nothing. */
    configure(settings: SpeculationSettings): void {
        validateSettings(settings);
        const needsNative = settings.mode === "clasp" || settings.mode === "hybrid";
        const native = this.#native?.info.supported ? this.#native : undefined;
        if (needsNative && !native) {
            const reason = this.#nativeUnavailable ?? (this.#native ? `the model's architecture cannot skip layers` : "no native primitives were given");
            throw new Error(`the ${settings.mode} mode needs the CLaSp native layer-skip primitives (${reason}); ${nativeBuildHint}, or use the lookup, auto or off mode`);
        }
        this.#settings = { ...settings };
        this.rolling.mode = settings.mode;
        const layers = native?.info.nLayer ?? 1;
        const skipCount = native ? skipCountFor(layers, settings.skipRatio) : 0;
        if (native && settings.mode !== "lookup") {
            if (!this.#layerSkip) this.#layerSkip = new LayerSkipDrafter(native, { skipCount, updateInterval: settings.updateInterval, staticMask: this.#staticMask });
            else this.#layerSkip.options = { ...this.#layerSkip.options, updateInterval: settings.updateInterval, ...(settings.mode === "auto" ? {} : { skipCount }) };
        }
        this.#controller ??= new SpeculationController({
            layers: Math.max(layers, 1),
            maxDraftTokens: settings.maxDraftTokens,
            updateInterval: settings.updateInterval,
            skipCandidates: native ? skipCandidates(layers, settings.skipRatio) : [],
            probeEvery: 32,
        });
        this.#controller.reconfigure({ maxDraftTokens: settings.maxDraftTokens, updateInterval: settings.updateInterval });
    }

    async decode(input: DecodeInput): Promise<DecodeOutcome> {
        if (this.#settings.mode === "off") return this.#decodePlain(input);
        const started = this.#now();
        const { sequence, signal, maxTokens } = input;
        const settings = this.#settings;
        const request = new RequestStatsRecorder(settings.mode);
        const uniform = seededUniform(input.seed ?? Date.now());
        const sampling = input.temperature > 0;
        const lookup = this.#usesLookup() ? new PromptLookup(input.lookupSource ?? sequence.contextTokens) : undefined;
        lookup?.push([...sequence.contextTokens.slice(-lookupContextTail), input.pending]);

        let pending = input.pending;
        let generated = 0;
        let keepEnd = sequence.nextTokenIndex; // KV cells past this are not (or no longer) committed
        /** Hands one token to the caller, as plain decoding would; returns why decoding ends, if it does. */
        const emit = (token: Token): DecodeEnd | undefined => {
            if (signal?.aborted) return "abort";
            if (sequence.model.isEogToken(token)) return "eog";
            generated++;
            lookup?.push([token]);
            if (!input.onTokens([token])) return "stopped";
            return generated >= maxTokens ? "maxTokens" : undefined;
        };
        const finish = (end: DecodeEnd): DecodeOutcome => {
            const speculation = request.toStats(this.#layerSkip?.skipSet);
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
                const layerSkipFits = room - settings.maxDraftTokens - (this.#layerSkip?.options.skipCount ?? 0) - 1 > 0;
                const capture = layerSkipFits && this.#captureThisRound();
                const cap = Math.min(settings.maxDraftTokens, maxTokens - generated - 1, room - 1);
                const plan = capture ? undefined : this.#plan(cap, layerSkipFits, lookup);

                if (plan?.source === "none") {
                    // Nothing worth verifying: decode plainly (node-llama-cpp's own path) until a draft may pay again.
                    const burst = await this.#plainBurst(sequence, pending, plan.gamma, input.temperature, uniform, emit,
                        plan.calibrating ? () => false : () => (lookup?.propose(1).tokens.length ?? 0) > 0);
                    keepEnd = sequence.nextTokenIndex;
                    for (let i = 0; i < burst.count; i++) request.recordRound(0, 0);
                    if (burst.end) return finish(burst.end);
                    pending = burst.last;
                    continue;
                }

                const draft = plan ? await this.#makeDraft(plan, pending, startPos, sampling ? input.temperature : undefined, uniform) : noDraft;
                if (capture) this.#native!.setCapture(true);
                const inputs = [pending, ...draft.tokens];
                keepEnd = startPos + inputs.length;
                let verification;
                try {
                    verification = await verifyBatch(sequence, inputs, input.temperature, input.seed);
                } finally {
                    if (capture) this.#native!.setCapture(false);
                }
                const verdict = sampling
                    ? acceptSampled(draft.tokens, verification.distributions!, draft.probabilities, uniform)
                    : acceptGreedy(draft.tokens, verification.tokens!);
                keepEnd = startPos + 1 + verdict.accepted;
                await trimTo(sequence, keepEnd);
                if (signal?.aborted) return finish("abort");

                this.#controller!.recordVerify(inputs.length, verification.ms);
                this.#controller!.recordRound(draft.source, this.#layerSkip?.options.skipCount ?? 0, draft.tokens.length, verdict.accepted);
                if (draft.source === "layerSkip") this.#layerSkip!.noteRound(draft.tokens.length, verdict.accepted);
                request.recordRound(draft.tokens.length, verdict.accepted);
                this.#count(draft, verdict.accepted);
                if (capture) await this.#optimize(startPos + verdict.accepted, request);

                const emitted = [...draft.tokens.slice(0, verdict.accepted), verdict.next];
                for (let j = 0; j < emitted.length; j++) {
                    const end = emit(emitted[j]!);
                    if (end !== undefined) {
                        keepEnd = startPos + 1 + j;
                        return finish(end);
                    }
                }
                pending = verdict.next;
                this.#tokensInWindow += emitted.length;
            }
        } finally {
            await trimTo(sequence, keepEnd);
        }
    }

    /**
     * Up to `limit` tokens through node-llama-cpp's plain path (exactly what plainDecoder does), stopping
     * early when `stopEarly` says a draft is available again. Timed: this is the calibration baseline.
     */
    async #plainBurst(
        sequence: LlamaContextSequence,
        pending: Token,
        limit: number,
        temperature: number,
        uniform: () => number,
        emit: (token: Token) => DecodeEnd | undefined,
        stopEarly: () => boolean,
    ): Promise<{ count: number; last: Token; end?: DecodeEnd }> {
        const started = this.#now();
        const iterator = sequence.evaluate([pending], { temperature, seed: Math.floor(uniform() * 2 ** 31) });
        let count = 0;
        let evaluated = 0;
        let firstTokenAt: number | undefined;
        let lastStepAt = started;
        // the draft checks between steps are this decoder's work, not plain decoding's: kept out of the timing
        let checksMs = 0;
        let checksMsAtLastStep = 0;
        let last = pending;
        let end: DecodeEnd | undefined = "eog"; // the iterator ends by itself only at an end-of-generation token
        try {
            for await (const token of iterator) {
                evaluated++;
                lastStepAt = this.#now();
                checksMsAtLastStep = checksMs;
                firstTokenAt ??= lastStepAt;
                end = emit(token);
                if (end !== undefined) break;
                count++;
                last = token;
                if (count >= limit) break;
                const checkStarted = this.#now();
                const stop = stopEarly();
                checksMs += this.#now() - checkStarted;
                if (stop) break;
                end = "eog";
            }
        } finally {
            await iterator.return();
        }
        // the end-of-generation token is evaluated but never yielded: its step ends with the iteration
        if (end === "eog" && evaluated === count) {
            evaluated++;
            lastStepAt = this.#now();
            checksMsAtLastStep = checksMs;
        }
        const ms = this.#now() - started - checksMs;
        const laterMs = firstTokenAt === undefined ? 0 : lastStepAt - firstTokenAt - checksMsAtLastStep;
        this.rolling.recordPlainRun({ steps: evaluated, fixedMs: ms - laterMs, laterMs });
        if (count > 0) {
            this.#plainStepsInWindow += count;
            this.#tokensInWindow += count;
            this.totals.rounds += count; // each plain token is a round that verified nothing
            for (let i = 0; i < count; i++) this.#controller!.recordRound("none", 0, 0, 0);
        }
        return { count, last, end };
    }

    /** Plain decoding, timed: in `off` mode every request is also a calibration run. */
    async #decodePlain(input: DecodeInput): Promise<DecodeOutcome> {
        const started = this.#now();
        let firstTokenAt: number | undefined;
        let lastTokenAt = started;
        const outcome = await plainDecoder.decode({
            ...input,
            onTokens: (tokens) => {
                lastTokenAt = this.#now();
                firstTokenAt ??= lastTokenAt;
                return input.onTokens(tokens);
            },
        });
        const ended = this.#now();
        const ms = ended - started;
        // after an end of generation or an abort, the dropped token's step ran until the decode ended
        const lastStepAt = outcome.end === "eog" || outcome.end === "abort" ? ended : lastTokenAt;
        const laterMs = firstTokenAt === undefined ? 0 : lastStepAt - firstTokenAt;
        const speculation = new RequestStatsRecorder("off").toStats();
        this.rolling.setSpeculating(false);
        this.rolling.recordPlainRequest({ stats: speculation, generatedTokens: outcome.generatedTokens, end: outcome.end, decodeMs: ms }, laterMs);
        return { ...outcome, speculation };
    }

    #count(draft: Draft, accepted: number): void {
        const totals = this.totals;
        totals.rounds++;
        if (draft.tokens.length > 0) totals.draftRounds++;
        totals.drafted += draft.tokens.length;
        totals.accepted += accepted;
        if (draft.source === "layerSkip") totals.layerSkipDraftMs += draft.ms;
    }

    #usesLookup(): boolean {
        const mode = this.#settings.mode;
        return mode === "lookup" || mode === "hybrid" || mode === "auto";
    }

    #calibrating(): boolean {
        if (this.#tokensInWindow >= calibrationWindowTokens) {
            this.#tokensInWindow = 0;
            this.#plainStepsInWindow = 0;
        }
        return this.#plainStepsInWindow < calibrationSteps;
    }

    /** Capture hidden states in this round's verify when a DP will follow it. */
    #captureThisRound(): boolean {
        const layerSkip = this.#layerSkip;
        if (!layerSkip?.dpDue) return false;
        // auto: one DP to start with (probes then measure what layer-skip drafts cost and earn), later
        // ones only while layer-skip drafting is predicted to pay
        if (this.#settings.mode !== "auto" || layerSkip.mask === null) return true;
        return this.#controller!.planFor("layerSkip", layerSkip.options.skipCount).source !== "none";
    }

    async #optimize(pos: number, request: RequestStatsRecorder): Promise<void> {
        const layerSkip = this.#layerSkip!;
        if (this.#settings.mode === "auto")
            layerSkip.options = { ...layerSkip.options, skipCount: this.#controller!.chooseSkipCount(layerSkip.options.skipCount) };
        const ms = await layerSkip.optimize(pos);
        if (ms === null) throw new Error(`no hidden states were captured for position ${pos}`);
        this.#controller!.recordDp(ms);
        request.recordDp(ms);
        this.totals.dpRuns++;
        this.totals.dpMs += ms;
    }

    /** This round's draft source and length; "none" with the plain burst length when nothing is worth drafting. */
    #plan(cap: number, layerSkipFits: boolean, lookup: PromptLookup | undefined): RoundPlan {
        const mode = this.#settings.mode;
        if (cap <= 0) return { source: "none", gamma: 1, calibrating: false, proposal: [] };
        if (this.#calibrating()) return { source: "none", gamma: calibrationSteps, calibrating: true, proposal: [] };
        // the proposal for the longest draft; a shorter lookup draft is its prefix (the match does not depend on the length)
        const proposed = lookup?.propose(cap).tokens ?? [];
        const proposal = proposed.length;
        const skipCount = this.#layerSkip?.options.skipCount ?? 0;
        const layerSkip = this.#layerSkip?.mask != null && layerSkipFits;
        const controller = this.#controller!;
        // Lookup drafts have no confidence to stop on: the controller sets their length (at least 1 in the explicit modes).
        const lookupLength = () => Math.max(1, controller.planFor("lookup", skipCount, proposal).gamma);
        let plan: RoundPlan = { source: "none", gamma: plainBurstTokens, calibrating: false, proposal: proposed };
        if (mode === "lookup" || mode === "hybrid") {
            if (proposal > 0) plan = { ...plan, source: "lookup", gamma: lookupLength() };
            else if (mode === "hybrid" && layerSkip) plan = { ...plan, source: "layerSkip", gamma: cap };
        } else if (mode === "clasp") {
            if (layerSkip) plan = { ...plan, source: "layerSkip", gamma: cap };
        } else {
            const chosen = controller.plan([
                { source: "lookup", skipCount, available: proposal },
                { source: "layerSkip", skipCount, available: layerSkip ? cap : 0 },
            ]);
            if (chosen.source !== "none") plan = { ...plan, source: chosen.source, gamma: chosen.gamma };
        }
        this.rolling.setSpeculating(plan.source !== "none" || mode !== "auto");
        return plan;
    }

    async #makeDraft(
        plan: RoundPlan,
        pending: Token,
        startPos: number,
        temperature: number | undefined,
        uniform: () => number,
    ): Promise<Draft> {
        if (plan.source === "lookup") {
            const tokens = plan.proposal.slice(0, plan.gamma);
            return { source: "lookup", tokens, probabilities: tokens.map(pointMass), ms: 0 };
        }
        if (plan.source !== "layerSkip") return noDraft;
        const layerSkip = this.#layerSkip!;
        const sampling = temperature !== undefined ? { temperature, seed: Math.floor(uniform() * 2 ** 32) } : undefined;
        const draft = await layerSkip.draft(pending, startPos, plan.gamma, this.#settings.minConfidence, sampling);
        this.#controller!.recordDraft(layerSkip.options.skipCount, draft.tokens.length, draft.ms);
        return { source: "layerSkip", tokens: draft.tokens, probabilities: draft.probabilities ?? [], ms: draft.ms };
    }
}

async function trimTo(sequence: LlamaContextSequence, keepEnd: number): Promise<void> {
    if (sequence.nextTokenIndex > keepEnd)
        await sequence.eraseContextTokenRanges([{ start: keepEnd, end: sequence.nextTokenIndex }]);
}

function validateSettings(settings: SpeculationSettings): void {
    const modes: SpeculationMode[] = ["off", "clasp", "lookup", "hybrid", "auto"];
    if (!modes.includes(settings.mode)) throw new Error(`unknown speculation mode "${settings.mode}" (expected one of ${modes.join(", ")})`);
    if (!(Number.isInteger(settings.maxDraftTokens) && settings.maxDraftTokens >= 1 && settings.maxDraftTokens <= 64))
        throw new Error(`maxDraftTokens must be an integer within 1..64, got ${settings.maxDraftTokens}`);
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
