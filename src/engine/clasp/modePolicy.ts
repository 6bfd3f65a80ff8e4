// What each round does, by mode: which draft (prompt lookup, layer skip or none), how long, and
// whether its verify captures hidden states for a DP. `clasp` drafts with layers skipped, `lookup`
// copies from the prompt, `hybrid` copies where lookup matches and drafts with layers skipped
// elsewhere while that is measured to pay (on a few CPU cores it rarely does; on a GPU it does),
// `auto` lets the controller pick source, length and skip count from measured costs and
// acceptance, and decodes plainly while nothing pays.
import type { Token } from "node-llama-cpp";
import type { SpeculationMode, SpeculationSettings } from "../protocol.ts";
import { SpeculationController, skipCandidates, skipCountFor, type DraftSource } from "./controller.ts";
import type { CopyDrafter } from "./promptLookup.ts";
import type { RoundOutcome } from "./rounds.ts";
import { SkipSetSchedule } from "./skipSet.ts";

export interface RoundPlan {
    source: DraftSource | "none";
    /** Draft length; with "none" and no DP, the most tokens to decode plainly. */
    gamma: number;
    /** What prompt lookup proposed (a lookup draft is its first `gamma` tokens). */
    proposal: Token[];
    /** How many context tokens the proposal's match covered (its acceptance is learned per match length). */
    matchLength: number;
    /** Capture in this round's verify and re-select the skip set: from pending on a request's first DP. */
    dp?: { numSkip: number; atPending: boolean };
    /** A plain stretch that times plain decoding. */
    calibrating: boolean;
}

export interface PlanInput {
    /** Most draft tokens this round may verify (generation and context limits). */
    cap: number;
    /** Layer-skip drafts and DP candidates fit in the context. */
    layerSkipFits: boolean;
    lookup?: CopyDrafter;
    /** Plain decoding is due to be timed. */
    calibrationDue: boolean;
}

/** Longest plain stretch before the drafters are consulted again (lookup matches end it sooner). */
const plainBurstTokens = 8;
export const calibrationBurstTokens = 4;

export class ModePolicy {
    readonly controller: SpeculationController;
    /** The skip set and its DP schedule; absent without native layer skip. */
    readonly skipSet?: SkipSetSchedule;
    #settings: SpeculationSettings;
    #firstRound = true;

    /** `layers`: the model's layer count when native layer skip is available. */
    constructor(settings: SpeculationSettings, layers: number | undefined, staticMask?: Uint8Array) {
        this.#settings = settings;
        if (layers !== undefined)
            this.skipSet = new SkipSetSchedule(layers, { skipCount: skipCountFor(layers, settings.skipRatio), updateInterval: settings.updateInterval, staticMask });
        this.controller = new SpeculationController({
            layers: Math.max(layers ?? 1, 1),
            maxDraftTokens: settings.maxDraftTokens,
            updateInterval: settings.updateInterval,
            skipCandidates: layers !== undefined ? skipCandidates(layers, settings.skipRatio) : [],
            probeEvery: 32,
        });
    }

    get mode(): SpeculationMode {
        return this.#settings.mode;
    }

    /** New settings; a new skip ratio sets the skip count in every mode (`auto` explores around it from there). */
    configure(settings: SpeculationSettings): void {
        const ratioChanged = settings.skipRatio !== this.#settings.skipRatio;
        this.#settings = settings;
        const skipSet = this.skipSet;
        if (skipSet) {
            const skipCount = ratioChanged || settings.mode !== "auto" ? skipCountFor(skipSet.layers, settings.skipRatio) : skipSet.options.skipCount;
            skipSet.options = { ...skipSet.options, skipCount, updateInterval: settings.updateInterval };
        }
        this.controller.reconfigure({
            maxDraftTokens: settings.maxDraftTokens,
            updateInterval: settings.updateInterval,
            skipCandidates: skipSet ? skipCandidates(skipSet.layers, settings.skipRatio) : [],
        });
    }

    get usesLookup(): boolean {
        const mode = this.#settings.mode;
        return mode === "lookup" || mode === "hybrid" || mode === "auto";
    }

    beginRequest(): void {
        this.#firstRound = true;
        this.skipSet?.beginRequest();
    }

    /** Whether a decode with speculation is in progress as far as the user can tell (auto may be plain). */
    speculating(plan: RoundPlan): boolean {
        return plan.source !== "none" || plan.dp !== undefined || this.#settings.mode !== "auto";
    }

    plan({ cap, layerSkipFits, lookup, calibrationDue }: PlanInput): RoundPlan {
        const mode = this.#settings.mode;
        const none: RoundPlan = { source: "none", gamma: 1, proposal: [], matchLength: 0, calibrating: false };
        if (cap <= 0) return none;
        const dp = this.#dp(layerSkipFits);
        if (calibrationDue && !dp) return { ...none, gamma: calibrationBurstTokens, calibrating: true };
        // the proposal for the longest draft; a shorter lookup draft is its prefix (the match does not depend on the length)
        const { tokens: proposal, matchLength } = lookup?.propose(cap) ?? { tokens: [], matchLength: 0 };
        const skipSet = this.skipSet;
        const layerSkip = layerSkipFits && skipSet?.usable === true;
        const skipCount = skipSet ? maskCount(skipSet.mask) || skipSet.options.skipCount : 0;
        const controller = this.controller;
        // Lookup drafts have no confidence to stop on: the controller sets their length (at least 1 in the explicit modes).
        const lookupLength = () => Math.max(1, controller.planFor("lookup", skipCount, proposal.length, matchLength).gamma);
        let plan: RoundPlan = { ...none, gamma: plainBurstTokens, proposal, matchLength, dp };
        if (mode === "lookup" || mode === "hybrid") {
            if (proposal.length > 0) plan = { ...plan, source: "lookup", gamma: lookupLength() };
            else if (mode === "hybrid" && layerSkip && controller.worthTrying("layerSkip", skipCount)) plan = { ...plan, source: "layerSkip", gamma: cap };
        } else if (mode === "clasp") {
            if (layerSkip) plan = { ...plan, source: "layerSkip", gamma: cap };
        } else {
            const chosen = controller.plan([
                { source: "lookup", skipCount, available: proposal.length, matchLength },
                { source: "layerSkip", skipCount, available: layerSkip ? cap : 0 },
            ]);
            if (chosen.source !== "none") plan = { ...plan, source: chosen.source, gamma: chosen.gamma };
        }
        return plan;
    }

    /**
     * Whether a plain stretch should end now for a lookup draft: at any match in `lookup` and
     * `hybrid` (they copy whenever they can), at a match the controller would draft in `auto`.
     * Ending a stretch costs a new evaluation's first, dearer step; in auto, short matches the
     * controller turns down would chop plain decoding into one-token stretches.
     */
    lookupReady(lookup: CopyDrafter, cap: number): boolean {
        const { tokens, matchLength } = lookup.propose(cap);
        if (tokens.length === 0) return false;
        return this.#settings.mode !== "auto" || this.controller.planFor("lookup", 0, tokens.length, matchLength).source !== "none";
    }

    /** What a verified round teaches: costs, acceptance, and the DP's new skip set. */
    afterRound(plan: RoundPlan, outcome: RoundOutcome): void {
        this.#firstRound = false;
        const controller = this.controller;
        const skipSet = this.skipSet;
        const drafted = outcome.draft.length;
        const skipCount = maskCount(skipSet?.mask ?? null);
        controller.recordVerify(1 + drafted, outcome.verifyMs);
        if (plan.source === "layerSkip") controller.recordDraft(skipCount, drafted, outcome.draftMs);
        controller.recordRound(drafted > 0 ? plan.source : "none", skipCount, drafted, outcome.accepted, plan.matchLength);
        skipSet?.noteRound(plan.source === "layerSkip" ? drafted : 0, outcome.accepted);
        if (outcome.mask && skipSet) {
            skipSet.adopt(outcome.mask);
            controller.recordDp(outcome.dpMs);
        }
    }

    /**
     * A plain stretch of `count` tokens, `stepMs` each once decoding was under way: the one-token
     * cost every draft is weighed against (verify rounds batch two rows or more, so without these
     * the controller would only extrapolate it).
     */
    afterPlain(count: number, stepMs?: number): void {
        if (count > 0) this.#firstRound = false;
        if (stepMs !== undefined) this.controller.recordVerify(1, stepMs);
        for (let i = 0; i < count; i++) this.controller.recordRound("none", 0, 0, 0);
    }

    /** Whether this round's verify feeds a DP, and with how many layers skipped. */
    #dp(layerSkipFits: boolean): RoundPlan["dp"] {
        const skipSet = this.skipSet;
        const mode = this.#settings.mode;
        if (!skipSet || !layerSkipFits || mode === "lookup" || !skipSet.dpDue) return undefined;
        if (mode === "auto" || mode === "hybrid") {
            // a DP only while layer-skip drafts are predicted to pay or are due for a probe (and once to start with)
            const current = skipSet.options.skipCount;
            if (skipSet.mask !== null && !this.controller.worthTrying("layerSkip", current)) return undefined;
            // auto also picks the number of skipped layers; hybrid keeps the skip ratio's
            if (mode === "auto") skipSet.options = { ...skipSet.options, skipCount: this.controller.chooseSkipCount(current) };
        }
        return { numSkip: skipSet.options.skipCount, atPending: this.#firstRound };
    }
}

function maskCount(mask: Uint8Array | null): number {
    return mask?.reduce((sum, bit) => sum + bit, 0) ?? 0;
}
