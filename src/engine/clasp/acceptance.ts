// Deciding which draft tokens the full model keeps. Greedy: the longest prefix that equals the
// model's own argmax choices, then the model's next token. Sampling: speculative sampling
// (Leviathan et al. 2023): keep draft token d with probability min(1, p(d)/q(d)); at the first
// rejection draw from the residual norm(max(0, p − q)), which makes every emitted token follow
// exactly the model's distribution p whatever the draft distribution q was.
import type { Token } from "node-llama-cpp";

/** The model's next-token distribution: token -> probability (the tokens the sampler keeps). */
export type Distribution = ReadonlyMap<Token, number>;
/** The probability the drafter gave a token (it must be the distribution the draft was drawn from). */
export type DraftProbability = (token: Token) => number;

export interface Verdict {
    /** Draft tokens kept, in order. */
    accepted: number;
    /** The token the full model adds after them (correction or bonus). */
    next: Token;
}

/** `modelTokens[i]` is the model's greedy choice after input i of [pending, ...draft]. */
export function acceptGreedy(draft: readonly Token[], modelTokens: readonly Token[]): Verdict {
    if (modelTokens.length !== draft.length + 1)
        throw new Error(`greedy verification needs ${draft.length + 1} model tokens, got ${modelTokens.length}`);
    let accepted = 0;
    while (accepted < draft.length && draft[accepted] === modelTokens[accepted]) accepted++;
    return { accepted, next: modelTokens[accepted]! };
}

/**
 * `targets[i]` is the model's distribution after input i of [pending, ...draft];
 * `draftProbability[i]` is the draft's distribution for draft[i]; `uniform` draws from [0, 1).
 */
export function acceptSampled(
    draft: readonly Token[],
    targets: readonly Distribution[],
    draftProbability: readonly DraftProbability[],
    uniform: () => number,
): Verdict {
    if (targets.length !== draft.length + 1 || draftProbability.length !== draft.length)
        throw new Error(`speculative sampling needs ${draft.length + 1} targets and ${draft.length} draft distributions`);
    for (let i = 0; i < draft.length; i++) {
        const token = draft[i]!;
        const p = targets[i]!.get(token) ?? 0;
        const q = draftProbability[i]!(token);
        if (q <= 0) throw new Error(`draft token ${token} has probability 0 under its own draft distribution`);
        if (uniform() < Math.min(1, p / q)) continue;
        return { accepted: i, next: sampleResidual(targets[i]!, draftProbability[i]!, uniform) };
    }
    return { accepted: draft.length, next: sample(targets[draft.length]!, uniform) };
}

/** Draws from a distribution by its cumulative sum (the weights need not be normalized). */
export function sample(weights: Distribution, uniform: () => number): Token {
    let total = 0;
    for (const weight of weights.values()) total += weight;
    if (!(total > 0)) throw new Error("cannot sample from an empty distribution");
    let threshold = uniform() * total;
    let last: Token | undefined;
    for (const [token, weight] of weights) {
        if (weight <= 0) continue;
        last = token;
        threshold -= weight;
        if (threshold < 0) return token;
    }
    return last!; // rounding left a sliver past the end
}

/** norm(max(0, p − q)), sampled. When p ≤ q everywhere (only by rounding), p itself. */
export function sampleResidual(target: Distribution, draftProbability: DraftProbability, uniform: () => number): Token {
    const residual = new Map<Token, number>();
    for (const [token, p] of target) {
        const excess = p - draftProbability(token);
        if (excess > 0) residual.set(token, excess);
    }
    return residual.size > 0 ? sample(residual, uniform) : sample(target, uniform);
}

/** A deterministic draft (prompt lookup) proposes its token with probability 1. */
export function pointMass(token: Token): DraftProbability {
    return (candidate) => (candidate === token ? 1 : 0);
}

/** A seeded uniform source in [0, 1): sfc32 over a splitmix-expanded seed. */
export function seededUniform(seed: number): () => number {
    let a = splitmix(seed >>> 0);
    let b = splitmix(a);
    let c = splitmix(b);
    let d = splitmix(c);
    const next = () => {
        const t = (((a + b) | 0) + d) | 0;
        d = (d + 1) | 0;
        a = b ^ (b >>> 9);
        b = (c + (c << 3)) | 0;
        c = (c << 21) | (c >>> 11);
        c = (c + t) | 0;
        return (t >>> 0) / 4294967296;
    };
    for (let i = 0; i < 12; i++) next(); // mix the seed through the state
    return next;
}

function splitmix(value: number): number {
    let z = (value + 0x9e3779b9) >>> 0;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
}
