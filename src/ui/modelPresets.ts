// A short list of real FIM-capable models in node-llama-cpp's URI form, small enough for a
// laptop. The first is the default (the same model the engine's CLI recommends: LLaMA
// architecture, so CLaSp's layer skip applies, and FIM tokens in its vocabulary).

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
