// Speculative decoding rolls rejected drafts back by erasing their KV cells. A recurrent model's
// state (Mamba, RWKV) or a hybrid model's recurrent layers (Jamba, Granite-hybrid, Qwen3-Next, LFM2)
// is one running summary per sequence, not one cell per token, so erasing cells does not undo what a
// rejected draft did to it and the output would stop matching plain decoding (node-llama-cpp issue
// #652 shows lookup drafts changing greedy output there). On such models every mode decodes plainly.
import type { LlamaModel } from "node-llama-cpp";

type ArchitectureFacts = Pick<LlamaModel["fileInsights"], "isRecurrent" | "isHybrid">;

/** Why speculation must stay off for this model (as llama.cpp classifies its architecture); undefined when it may run. */
export function speculationOffReason(model: { fileInsights: ArchitectureFacts; fileInfo: { metadata: { general?: { architecture?: string } } } }): string | undefined {
    const kind = model.fileInsights.isRecurrent ? "recurrent" : model.fileInsights.isHybrid ? "hybrid (attention and recurrent layers)" : undefined;
    if (kind === undefined) return undefined;
    const architecture = model.fileInfo.metadata.general?.architecture ?? "unknown";
    return `speculation is off: the "${architecture}" architecture is ${kind}, and rejected drafts cannot be rolled back out of a recurrent state, so every mode decodes plainly`;
}
