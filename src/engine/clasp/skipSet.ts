// CLaSp's skip set and when to re-select it. The DP runs on the hidden states of this context:
// every request's first skip set comes from its prompt's last token (a skip set chosen for
// another file is never drafted with), later ones from the last accepted token every
// `updateInterval` verify rounds (the paper's sparse persistence), or as soon as acceptance falls
// well below what it was right after the last DP.
import { skipSetOf } from "./stats.ts";

export interface SkipSetOptions {
    /** Layers the DP skips (M). */
    skipCount: number;
    updateInterval: number;
    /** A fixed skip set (Self-SD-like baseline): the DP never runs. */
    staticMask?: Uint8Array;
}

/** Acceptance after a DP is compared with the first rounds that followed it. */
const baselineRounds = 4;
const dropFactor = 0.6;

export class SkipSetSchedule {
    #options: SkipSetOptions;
    #mask: Uint8Array | null;
    /** The mask was chosen in the current request. */
    #current = false;
    #roundsSinceDp = 0;
    #baseline = { drafted: 0, accepted: 0 };
    #recentAcceptance: number | undefined;

    constructor(readonly layers: number, options: SkipSetOptions) {
        this.#options = checked(layers, options);
        this.#mask = options.staticMask ?? null;
    }

    get options(): SkipSetOptions {
        return this.#options;
    }

    set options(options: SkipSetOptions) {
        this.#options = checked(this.layers, options);
    }

    /** The skip set layer-skip drafts use now (null before any DP). */
    get mask(): Uint8Array | null {
        return this.#mask;
    }

    get skipSet(): number[] {
        return skipSetOf(this.#mask);
    }

    /** Whether layer-skip drafts may run: a static set, or one the DP chose in this request. */
    get usable(): boolean {
        return this.#mask !== null && (this.#current || this.#options.staticMask !== undefined);
    }

    /** A new request: the skip set must come from its own context before it drafts. */
    beginRequest(): void {
        this.#current = false;
    }

    /** Whether the next verify should capture hidden states for a DP run. */
    get dpDue(): boolean {
        if (this.#options.staticMask) return false;
        if (!this.#current || this.#roundsSinceDp >= this.#options.updateInterval) return true;
        const { drafted, accepted } = this.#baseline;
        if (this.#roundsSinceDp < 2 * baselineRounds || drafted === 0 || this.#recentAcceptance === undefined) return false;
        return this.#recentAcceptance < dropFactor * (accepted / drafted);
    }

    /** The skip set the DP just chose. */
    adopt(mask: Uint8Array): void {
        if (mask.length !== this.layers) throw new Error(`the DP returned ${mask.length} mask entries for ${this.layers} layers`);
        this.#mask = mask;
        this.#current = true;
        this.#roundsSinceDp = 0;
        this.#baseline = { drafted: 0, accepted: 0 };
        this.#recentAcceptance = undefined;
    }

    /** One verify round; only layer-skip drafts say anything about the skip set's acceptance. */
    noteRound(layerSkipDrafted: number, accepted: number): void {
        this.#roundsSinceDp++;
        if (layerSkipDrafted === 0) return;
        if (this.#roundsSinceDp <= baselineRounds) {
            this.#baseline.drafted += layerSkipDrafted;
            this.#baseline.accepted += accepted;
        }
        const rate = accepted / layerSkipDrafted;
        this.#recentAcceptance = this.#recentAcceptance === undefined ? rate : this.#recentAcceptance + 0.3 * (rate - this.#recentAcceptance);
    }
}

function checked(layers: number, options: SkipSetOptions): SkipSetOptions {
    if (!(Number.isInteger(options.skipCount) && options.skipCount >= 1 && options.skipCount < layers))
        throw new Error(`skip count must be within 1..${layers - 1} for a ${layers}-layer model, got ${options.skipCount}`);
    if (options.staticMask && options.staticMask.length !== layers)
        throw new Error(`static skip mask has ${options.staticMask.length} entries, the model has ${layers} layers`);
    return options;
}
