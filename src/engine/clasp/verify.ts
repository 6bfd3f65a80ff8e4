// Verification: the full model evaluates [pending, ...draft] in one batch through node-llama-cpp's
// public controlledEvaluate and reports, after every input position, its greedy token (T = 0) or
// its whole next-token distribution (T > 0, with the same sampler settings plain decoding uses).
import type { LlamaContextSequence, Token } from "node-llama-cpp";
import type { Distribution } from "./acceptance.ts";

export interface Verification {
    /** Greedy: the model's token after each input. */
    tokens?: Token[];
    /** Sampling: the model's distribution after each input. */
    distributions?: Distribution[];
    ms: number;
}

export async function verifyBatch(
    sequence: LlamaContextSequence,
    inputs: readonly Token[],
    temperature: number,
    seed: number | undefined,
): Promise<Verification> {
    const sampling = temperature > 0;
    const generateNext = sampling
        ? { probabilities: true, options: { temperature, seed } }
        : { token: true };
    const started = performance.now();
    const results = await sequence.controlledEvaluate(inputs.map((token) => [token, { generateNext }]));
    const ms = performance.now() - started;
    if (sampling) {
        const distributions = results.map((result, i) => {
            const probabilities = result?.next.probabilities;
            if (!probabilities) throw new Error(`verification returned no distribution for input ${i}`);
            return probabilities;
        });
        return { distributions, ms };
    }
    const tokens = results.map((result, i) => {
        const token = result?.next.token;
        if (token == null) throw new Error(`verification returned no token for input ${i}`);
        return token;
    });
    return { tokens, ms };
}
