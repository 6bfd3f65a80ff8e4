// A generated Mamba model: llama.cpp runs it and reports it recurrent (llm_arch_is_recurrent), which
// is what the speculation guard must catch. It keeps the `rand` fixture's vocabulary and tokenizer
// and replaces every layer by a random selective-state-space block (llama.cpp's models/mamba.cpp).
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import {
    ensureFixture, fixturePresets, gguf, mulberry32, readGgufFile, readTensorValues, writeGguf,
    type GgufMetadataValue, type GgufTensorInput,
} from "../../src/fixtures/index.ts";
import { toWritable } from "./foreignArchitecture.ts";

const layers = 2;
const dConv = 4;
const dState = 8;
const dtRank = 4;

export async function ensureMambaModel(): Promise<string> {
    const source = await ensureFixture(fixturePresets.rand);
    const target = join(dirname(source), "recurrent-mamba.gguf");
    if (existsSync(target)) return target;
    const file = await readGgufFile(source);
    const embd = file.metadata.get("llama.embedding_length") as number;
    const dInner = 2 * embd; // llama.cpp supports only an expansion factor of 2
    const metadata = new Map<string, GgufMetadataValue>();
    for (const [key, value] of file.metadata)
        if (!key.startsWith("llama.")) metadata.set(key, toWritable(file.metadataTypes.get(key)!, value));
    metadata.set("general.architecture", gguf.string("mamba"));
    metadata.set("mamba.context_length", gguf.u32(file.metadata.get("llama.context_length") as number));
    metadata.set("mamba.embedding_length", gguf.u32(embd));
    metadata.set("mamba.block_count", gguf.u32(layers));
    metadata.set("mamba.feed_forward_length", gguf.u32(0));
    metadata.set("mamba.attention.head_count", gguf.u32(0));
    metadata.set("mamba.attention.layer_norm_rms_epsilon", gguf.f32(1e-5));
    metadata.set("mamba.ssm.conv_kernel", gguf.u32(dConv));
    metadata.set("mamba.ssm.inner_size", gguf.u32(dInner));
    metadata.set("mamba.ssm.state_size", gguf.u32(dState));
    metadata.set("mamba.ssm.time_step_rank", gguf.u32(dtRank));

    const random = mulberry32(652);
    const values = (n: number, scale: number, offset = 0) => Float32Array.from({ length: n }, () => offset + scale * (2 * random() - 1));
    const tensor = (name: string, dims: number[], scale: number, offset = 0): GgufTensorInput =>
        ({ name, dims, type: "F32", values: values(dims.reduce((a, b) => a * b, 1), scale, offset) });
    const tensors: GgufTensorInput[] = file.tensors
        .filter((t) => t.name === "token_embd.weight" || t.name === "output_norm.weight")
        .map((t) => ({ name: t.name, dims: t.dims, type: "F32", values: readTensorValues(file, t.name) }));
    for (let i = 0; i < layers; i++) {
        const p = `blk.${i}.`;
        tensors.push(
            tensor(`${p}attn_norm.weight`, [embd], 0, 1),
            tensor(`${p}ssm_in.weight`, [embd, 2 * dInner], 0.3),
            tensor(`${p}ssm_conv1d.weight`, [dConv, dInner], 0.5),
            tensor(`${p}ssm_conv1d.bias`, [dInner], 0.1),
            tensor(`${p}ssm_x.weight`, [dInner, dtRank + 2 * dState], 0.3),
            tensor(`${p}ssm_dt.weight`, [dtRank, dInner], 0.3),
            tensor(`${p}ssm_dt.bias`, [dInner], 0.1),
            // A = -exp(A_log) < 0: a decaying state
            tensor(`${p}ssm_a`, [dState, dInner], 0.4, -0.6),
            tensor(`${p}ssm_d`, [dInner], 0.5, 1),
            tensor(`${p}ssm_out.weight`, [dInner, embd], 0.3),
        );
    }
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, writeGguf({ metadata, tensors }));
    return target;
}
