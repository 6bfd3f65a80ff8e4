// Shared setup of the CLaSp decoding tests: fixture models on one long-lived sequence (as the
// engine uses them), deterministic code-like prompts (FIM and prefix-only), and decoding helpers.
import { getLlama, type Llama, type LlamaContext, type LlamaContextSequence, type LlamaModel, type Token } from "node-llama-cpp";
import { plainDecoder, prefill, type DecodeOutcome, type Decoder } from "../../../src/engine/decoding.ts";
import { ensureFixture, mulberry32, type FixturePresetName, type FixtureSpec } from "../../../src/fixtures/index.ts";

export interface OpenModel {
    model: LlamaModel;
    context: LlamaContext;
    sequence: LlamaContextSequence;
    dispose(): Promise<void>;
}

export async function openModel(llama: Llama, fixture: FixturePresetName | FixtureSpec, contextSize = 512): Promise<OpenModel> {
    const model = await llama.loadModel({ modelPath: await ensureFixture(fixture) });
    const context = await model.createContext({ contextSize, threads: 1, sequences: 1 });
    const sequence = context.getSequence();
    return {
        model, context, sequence,
        async dispose() {
            await context.dispose();
            await model.dispose();
        },
    };
}

export interface TestPrompt {
    kind: "fim" | "prefix";
    tokens: Token[];
    lookupSource: Token[];
}

const words = ["value", "index", "result", "items", "config", "count", "name", "node", "next", "data"];

/** A small seeded snippet of code-like lines with repeated identifiers (prompt lookup has something to find). */
function snippet(seed: number): string[] {
    const random = mulberry32(seed);
    const pick = () => words[Math.floor(random() * words.length)]!;
    const lines: string[] = [];
    const count = 3 + Math.floor(random() * 4);
    for (let i = 0; i < count; i++) {
        const [a, b, c] = [pick(), pick(), pick()];
        lines.push(random() < 0.5 ? `const ${a} = ${b}.${c}(${a});` : `if (${a} > ${b}) return ${c};`);
    }
    return lines;
}

/** `count` prompts, alternating FIM (when the model has FIM tokens) and prefix-only. */
export function testPrompts(model: LlamaModel, count: number, seed = 1): TestPrompt[] {
    const { prefix: pre, suffix: suf, middle: mid } = model.tokens.infill;
    const prompts: TestPrompt[] = [];
    for (let i = 0; i < count; i++) {
        const lines = snippet(seed * 1000 + i);
        const cut = 1 + (i % (lines.length - 1));
        const prefixTokens = model.tokenize(lines.slice(0, cut).join("\n") + "\n");
        const suffixTokens = model.tokenize(lines.slice(cut + 1).join("\n"));
        if (i % 2 === 0 && pre != null && suf != null && mid != null)
            prompts.push({ kind: "fim", tokens: [pre, ...prefixTokens, suf, ...suffixTokens, mid], lookupSource: [...prefixTokens, ...suffixTokens] });
        else prompts.push({ kind: "prefix", tokens: prefixTokens, lookupSource: prefixTokens });
    }
    return prompts;
}

export interface Decoded {
    tokens: Token[];
    outcome: DecodeOutcome;
}

/** Prefills `prompt` on the sequence (reusing its KV cache) and decodes it with `decoder`. */
export async function decodeWith(
    decoder: Decoder,
    sequence: LlamaContextSequence,
    prompt: TestPrompt,
    options: { maxTokens: number; temperature?: number; seed?: number; signal?: AbortSignal },
): Promise<Decoded> {
    await prefill(sequence, prompt.tokens);
    const tokens: Token[] = [];
    const outcome = await decoder.decode({
        sequence,
        pending: prompt.tokens[prompt.tokens.length - 1]!,
        maxTokens: options.maxTokens,
        temperature: options.temperature ?? 0,
        seed: options.seed,
        signal: options.signal,
        lookupSource: prompt.lookupSource,
        onTokens(batch) {
            tokens.push(...batch);
            return true;
        },
    });
    return { tokens, outcome };
}

export const decodePlain = (sequence: LlamaContextSequence, prompt: TestPrompt, maxTokens: number) =>
    decodeWith(plainDecoder, sequence, prompt, { maxTokens });

let stock: Promise<Llama> | undefined;

/** node-llama-cpp's stock binary (CPU), loaded once for every test of this folder. */
export function stockLlama(): Promise<Llama> {
    stock ??= getLlama({ gpu: false, logLevel: "error" as never });
    return stock;
}

let claspLlama: Promise<Llama> | undefined;

/**
 * The CLaSp-patched build, loaded once. When it is missing this rejects with the build command
 * in the message: the native-mode tests then fail (never skip).
 */
export function patchedLlama(): Promise<Llama> {
    claspLlama ??= import("../../../src/engine/native/index.ts").then(({ loadClaspLlama }) => loadClaspLlama({ gpu: "cpu", maxThreads: 1 }));
    return claspLlama;
}

export async function openNativeModel(fixture: FixturePresetName | FixtureSpec, contextSize = 512) {
    const { createClaspNative } = await import("../../../src/engine/native/index.ts");
    const open = await openModel(await patchedLlama(), fixture, contextSize);
    return { ...open, native: createClaspNative(open.context, open.sequence) };
}

/** Key of an outcome of the first two sampled tokens; an end of generation shows as "eog". */
export const outcomeKey = (tokens: readonly Token[], endedAtEog: boolean) => [...tokens, ...(endedAtEog ? ["eog"] : [])].join(",");

/** Exact distribution of the first two sampled tokens after `prompt` (the model's, with its own sampler settings). */
export async function firstTwoTokenDistribution(sequence: LlamaContextSequence, prompt: Token[], temperature: number): Promise<Map<string, number>> {
    const next = async (inputs: Token[]) => {
        await prefill(sequence, [...prompt, ...inputs]);
        const start = sequence.nextTokenIndex;
        const [result] = await sequence.controlledEvaluate([[[...prompt, ...inputs].at(-1)!, { generateNext: { probabilities: true, options: { temperature } } }]]);
        await sequence.eraseContextTokenRanges([{ start, end: sequence.nextTokenIndex }]);
        return result!.next.probabilities!;
    };
    const isEog = (token: Token) => sequence.model.isEogToken(token);
    const distribution = new Map<string, number>();
    const add = (key: string, p: number) => distribution.set(key, (distribution.get(key) ?? 0) + p);
    for (const [first, p1] of await next([])) {
        if (isEog(first)) add(outcomeKey([], true), p1);
        else for (const [second, p2] of await next([first])) add(isEog(second) ? outcomeKey([first], true) : outcomeKey([first, second], false), p1 * p2);
    }
    return distribution;
}
