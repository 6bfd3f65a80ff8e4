// A short list of real models in node-llama-cpp's URI form, small enough for a laptop: FIM code
// models, and one of the LLaMA-3 family the CLaSp paper evaluated. The first is the default (the
// same model the engine's CLI recommends: LLaMA architecture, so CLaSp's layer skip applies, and
// FIM tokens in its vocabulary).
import { noFimLabel } from "../engine/protocol.ts";

export interface ModelPreset {
    label: string;
    uri: string;
    detail: string;
}

export const modelPresets: readonly ModelPreset[] = [
    {
        label: "DeepSeek-Coder 1.3B base (Q4_K_M)",
        uri: "hf:TheBloke/deepseek-coder-1.3b-base-GGUF/deepseek-coder-1.3b-base.Q4_K_M.gguf",
        detail: "≈0.9 GB · LLaMA architecture, 24 layers, FIM · default",
    },
    {
        label: "DeepSeek-Coder 6.7B base (Q4_K_M)",
        uri: "hf:TheBloke/deepseek-coder-6.7B-base-GGUF/deepseek-coder-6.7b-base.Q4_K_M.gguf",
        detail: "≈4.1 GB · LLaMA architecture, 32 layers, FIM · needs a GPU for comfortable latency",
    },
    {
        label: "CodeLlama 7B (Q4_K_M)",
        uri: "hf:TheBloke/CodeLlama-7B-GGUF/codellama-7b.Q4_K_M.gguf",
        detail: "≈4.1 GB · LLaMA architecture, 32 layers, FIM",
    },
    {
        // The family the CLaSp paper measured (LLaMA-3-8B/70B); this is its smallest member.
        label: "Llama 3.2 1B Instruct (Q4_K_M)",
        uri: "hf:bartowski/Llama-3.2-1B-Instruct-GGUF/Llama-3.2-1B-Instruct-Q4_K_M.gguf",
        detail: `≈0.8 GB · LLaMA-3 architecture, 16 layers · ${noFimLabel} · about 8× SmolLM2-135M's weights per token (speed not measured here)`,
    },
    {
        label: "Qwen2.5-Coder 1.5B (Q8_0)",
        uri: "hf:ggml-org/Qwen2.5-Coder-1.5B-Q8_0-GGUF/qwen2.5-coder-1.5b-q8_0.gguf",
        detail: "≈1.6 GB · Qwen2 architecture (LLaMA-like), 28 layers, FIM",
    },
];

export const defaultModelPreset = modelPresets[0]!;

export function isModelUri(value: string): boolean {
    return /^(hf:|huggingface:|https?:\/\/)/i.test(value.trim());
}

/** What the `clasp.model` setting asks for. */
export type ModelRequest = { kind: "default"; uri: string } | { kind: "uri"; uri: string } | { kind: "path"; path: string };

export function interpretModelSetting(setting: string, home: string): ModelRequest {
    const value = setting.trim();
    if (value === "") return { kind: "default", uri: defaultModelPreset.uri };
    if (isModelUri(value)) return { kind: "uri", uri: value };
    if (value === "~" || value.startsWith("~/")) return { kind: "path", path: home + value.slice(1) };
    return { kind: "path", path: value };
}
