// Shared setup of the native CLaSp tests: the patched build (loaded once; a missing build fails the
// tests with the message naming `npm run build:native`), fixture models and full next-token distributions.
import type { Llama, LlamaContext, LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";
import { ensureFixture, type FixturePresetName, type FixtureSpec } from "../../src/fixtures/index.ts";
import { createClaspNative, loadClaspLlama, type ClaspNative } from "../../src/engine/native/index.ts";

let llamaPromise: Promise<Llama> | undefined;

export function patchedLlama(): Promise<Llama> {
    llamaPromise ??= loadClaspLlama({ gpu: "cpu", maxThreads: 1 });
    return llamaPromise;
}

export async function loadFixtureModel(fixture: FixturePresetName | FixtureSpec): Promise<LlamaModel> {
    const llama = await patchedLlama();
    return llama.loadModel({ modelPath: await ensureFixture(fixture), gpuLayers: 0 });
}

export interface Session {
    context: LlamaContext;
    sequence: LlamaContextSequence;
    native: ClaspNative;
}

/** One-sequence context, 1 thread. `exactKv` stores K/V in F32 so results can be compared at 1e-5. */
export async function openSession(model: LlamaModel, { exactKv = false, contextSize = 256 } = {}): Promise<Session> {
    const context = await model.createContext({
        contextSize, sequences: 1, threads: 1, flashAttention: false,
        ...(exactKv ? { experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32" } as const : {}),
    });
    const sequence = context.getSequence();
    return { context, sequence, native: createClaspNative(context, sequence) };
}

/** The model's vocabulary size from its GGUF metadata (the length of every full distribution). */
export function vocabSize(model: LlamaModel): number {
    const size = model.fileInfo.metadata.tokenizer?.ggml?.tokens?.length ?? 0;
    if (size <= 0) throw new Error("vocabulary size unknown");
    return size;
}

/**
 * Evaluates `tokens` (appended to the sequence) and returns the full next-token distribution after each
 * of them, dense over the vocabulary. Temperature 1 with no truncation, so it is the softmax of the logits.
 */
export async function distributions(sequence: LlamaContextSequence, tokens: Token[], nVocab: number): Promise<Float64Array[]> {
    const generateNext = { probabilities: true, options: { temperature: 1, topK: 0, topP: 1, minP: 0, seed: 1 } };
    const results = await sequence.controlledEvaluate(tokens.map(token => [token, { generateNext }] as const));
    return results.map((result, i) => {
        const probabilities = result?.next.probabilities;
        if (!probabilities || probabilities.size !== nVocab)
            throw new Error(`no full distribution after token ${i} (${probabilities?.size ?? 0} of ${nVocab} entries)`);
        const dense = new Float64Array(nVocab);
        for (const [token, p] of probabilities) dense[token] = p;
        return dense;
    });
}

/** The greedy continuation of `prompt` for `steps` tokens, with the distribution of each step. */
export async function greedyWalk(sequence: LlamaContextSequence, prompt: Token[], steps: number, nVocab: number) {
    const tokens: Token[] = [];
    const dists: Float64Array[] = [];
    let input = prompt;
    for (let i = 0; i < steps; i++) {
        const dist = (await distributions(sequence, input, nVocab)).at(-1)!;
        const next = dist.indexOf(Math.max(...dist)) as Token;
        tokens.push(next);
        dists.push(dist);
        input = [next];
    }
    return { tokens, distributions: dists };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
    if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
    let max = 0;
    for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
    return max;
}

/** max |a-b| / max |b|: relative to the scale of the reference vector. */
export function relativeDiff(a: ArrayLike<number>, reference: ArrayLike<number>): number {
    let scale = 0;
    for (let i = 0; i < reference.length; i++) scale = Math.max(scale, Math.abs(reference[i]!));
    return maxAbsDiff(a, reference) / (scale || 1);
}

/** A prompt of byte tokens of the fixtures' byte vocabulary. */
export function promptTokens(model: LlamaModel, text = "function add(a, b) {\n  return"): Token[] {
    return model.tokenize(text);
}

export const maskOf = (nLayer: number, skipped: number[]) => Uint8Array.from({ length: nLayer }, (_, i) => (skipped.includes(i) ? 1 : 0));
