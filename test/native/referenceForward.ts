// An independent float64 forward pass of a LLaMA-architecture GGUF (F32/F16 weights), written from the
// architecture's definition rather than from llama.cpp's code: RMSNorm, RoPE on adjacent pairs
// (llama.cpp's "normal" rope type for LLaMA), grouped-query causal attention, SwiGLU.
// It returns x_0..x_L (the residual stream entering each layer, and after the last) for every position.
import { readGgufFile, readTensorValues, type GgufFile } from "../../src/fixtures/index.ts";

interface LayerWeights {
    attnNorm: Float32Array;
    wq: Float32Array;
    wk: Float32Array;
    wv: Float32Array;
    wo: Float32Array;
    ffnNorm: Float32Array;
    gate: Float32Array;
    up: Float32Array;
    down: Float32Array;
}

export interface ReferenceModel {
    nLayer: number;
    nEmbd: number;
    nHead: number;
    nHeadKv: number;
    nFf: number;
    ropeBase: number;
    eps: number;
    tokenEmbd: Float32Array;
    outputNorm: Float32Array;
    layers: LayerWeights[];
}

function num(file: GgufFile, key: string): number {
    const value = file.metadata.get(key);
    if (typeof value !== "number") throw new Error(`GGUF key ${key} is missing`);
    return value;
}

export async function loadReferenceModel(path: string): Promise<ReferenceModel> {
    const file = await readGgufFile(path);
    if (file.metadata.get("general.architecture") !== "llama") throw new Error("the reference forward pass covers the llama architecture only");
    const nLayer = num(file, "llama.block_count");
    const t = (name: string) => readTensorValues(file, name);
    return {
        nLayer,
        nEmbd: num(file, "llama.embedding_length"),
        nHead: num(file, "llama.attention.head_count"),
        nHeadKv: num(file, "llama.attention.head_count_kv"),
        nFf: num(file, "llama.feed_forward_length"),
        ropeBase: num(file, "llama.rope.freq_base"),
        eps: num(file, "llama.attention.layer_norm_rms_epsilon"),
        tokenEmbd: t("token_embd.weight"),
        outputNorm: t("output_norm.weight"),
        layers: Array.from({ length: nLayer }, (_, l) => ({
            attnNorm: t(`blk.${l}.attn_norm.weight`),
            wq: t(`blk.${l}.attn_q.weight`),
            wk: t(`blk.${l}.attn_k.weight`),
            wv: t(`blk.${l}.attn_v.weight`),
            wo: t(`blk.${l}.attn_output.weight`),
            ffnNorm: t(`blk.${l}.ffn_norm.weight`),
            gate: t(`blk.${l}.ffn_gate.weight`),
            up: t(`blk.${l}.ffn_up.weight`),
            down: t(`blk.${l}.ffn_down.weight`),
        })),
    };
}

// ggml layout: a [nIn, nOut] weight stores output row o contiguously at o*nIn
function matVec(w: Float32Array, x: Float64Array, nIn: number, nOut: number): Float64Array {
    const y = new Float64Array(nOut);
    for (let o = 0; o < nOut; o++) {
        let s = 0;
        for (let i = 0; i < nIn; i++) s += w[o * nIn + i]! * x[i]!;
        y[o] = s;
    }
    return y;
}

function rmsNorm(x: Float64Array, weight: Float32Array, eps: number): Float64Array {
    let ss = 0;
    for (const v of x) ss += v * v;
    const scale = 1 / Math.sqrt(ss / x.length + eps);
    return x.map((v, i) => v * scale * weight[i]!);
}

function rope(x: Float64Array, nHeads: number, headDim: number, pos: number, base: number): Float64Array {
    const out = new Float64Array(x.length);
    for (let h = 0; h < nHeads; h++) {
        for (let i = 0; i < headDim; i += 2) {
            const theta = pos * Math.pow(base, -i / headDim);
            const a = x[h * headDim + i]!, b = x[h * headDim + i + 1]!;
            out[h * headDim + i] = a * Math.cos(theta) - b * Math.sin(theta);
            out[h * headDim + i + 1] = a * Math.sin(theta) + b * Math.cos(theta);
        }
    }
    return out;
}

const silu = (v: number) => v / (1 + Math.exp(-v));

/** states[p][l] = x_l at position p, l = 0..nLayer */
export function referenceHiddenStates(model: ReferenceModel, tokens: number[]): Float64Array[][] {
    const { nEmbd, nHead, nHeadKv, nFf, eps } = model;
    const headDim = nEmbd / nHead;
    const kvWidth = nHeadKv * headDim;
    const states = tokens.map(token => [Float64Array.from(model.tokenEmbd.subarray(token * nEmbd, (token + 1) * nEmbd))]);

    model.layers.forEach((layer) => {
        const keys: Float64Array[] = [], values: Float64Array[] = [];
        tokens.forEach((_, pos) => {
            const x = states[pos]!.at(-1)!;
            const h = rmsNorm(x, layer.attnNorm, eps);
            const q = rope(matVec(layer.wq, h, nEmbd, nEmbd), nHead, headDim, pos, model.ropeBase);
            keys.push(rope(matVec(layer.wk, h, nEmbd, kvWidth), nHeadKv, headDim, pos, model.ropeBase));
            values.push(matVec(layer.wv, h, nEmbd, kvWidth));

            const attended = new Float64Array(nEmbd);
            for (let head = 0; head < nHead; head++) {
                const kvHead = Math.floor(head / (nHead / nHeadKv));
                const scores = keys.map(k => {
                    let s = 0;
                    for (let i = 0; i < headDim; i++) s += q[head * headDim + i]! * k[kvHead * headDim + i]!;
                    return s / Math.sqrt(headDim);
                });
                const max = Math.max(...scores);
                const weights = scores.map(s => Math.exp(s - max));
                const total = weights.reduce((a, b) => a + b, 0);
                weights.forEach((w, j) => {
                    for (let i = 0; i < headDim; i++) attended[head * headDim + i]! += (w / total) * values[j]![kvHead * headDim + i]!;
                });
            }
            const afterAttn = matVec(layer.wo, attended, nEmbd, nEmbd).map((v, i) => v + x[i]!);
            const h2 = rmsNorm(afterAttn, layer.ffnNorm, eps);
            const gate = matVec(layer.gate, h2, nEmbd, nFf);
            const up = matVec(layer.up, h2, nEmbd, nFf);
            const act = gate.map((g, i) => silu(g) * up[i]!);
            states[pos]!.push(matVec(layer.down, act, nFf, nEmbd).map((v, i) => v + afterAttn[i]!));
        });
    });
    return states;
}
