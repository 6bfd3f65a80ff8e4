// Rewrites a LLaMA fixture as another architecture whose loader takes the same tensors (ernie4_5),
// to get a model llama.cpp runs but the CLaSp patch does not support.
import { mkdir, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import {
    ensureFixture, fixturePresets, readGgufFile, readTensorValues, writeGguf,
    type GgufMetadataValue, type GgufReadValue, type GgufTensorInput,
} from "../../src/fixtures/index.ts";

/** A value read from a GGUF file, in the writer's form. */
export function toWritable(type: string, value: GgufReadValue): GgufMetadataValue {
    const array = /^array<(\w+)>$/.exec(type);
    if (array) return { type: "array", itemType: array[1], values: value } as GgufMetadataValue;
    return { type, value } as GgufMetadataValue;
}

export async function ensureUnsupportedArchitectureModel(arch = "ernie4_5"): Promise<string> {
    const source = await ensureFixture(fixturePresets.rand);
    const target = join(dirname(source), `unsupported-${arch}.gguf`);
    if (existsSync(target)) return target;
    const file = await readGgufFile(source);
    const metadata = new Map<string, GgufMetadataValue>();
    for (const [key, value] of file.metadata) {
        const renamed = key.startsWith("llama.") ? `${arch}.${key.slice("llama.".length)}` : key;
        metadata.set(renamed, key === "general.architecture" ? { type: "string", value: arch } : toWritable(file.metadataTypes.get(key)!, value));
    }
    const tensors: GgufTensorInput[] = file.tensors.map(t => ({ name: t.name, dims: t.dims, type: t.type!, values: readTensorValues(file, t.name) }));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, writeGguf({ metadata, tensors }));
    return target;
}
