// Where the model comes from: a local path, a URI to download (only when the user gave it), a
// default model the user downloaded earlier, or, with none of these, a generated fixture model
// so everything still runs offline (and says so).
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { ensureFixture } from "../fixtures/index.ts";
import { downloadModel } from "./download.ts";

/**
 * The recommended model: DeepSeek-Coder 1.3B base. It is LLaMA architecture (so CLaSp's layer
 * skip applies as is), defines FIM tokens, has 24 layers (enough depth to skip), and at Q4_K_M
 * (~0.9 GB) it decodes fast on a laptop CPU and trivially on any GPU.
 */
export const defaultModel = {
    uri: "hf:TheBloke/deepseek-coder-1.3b-base-GGUF/deepseek-coder-1.3b-base.Q4_K_M.gguf",
    fileName: "deepseek-coder-1.3b-base.Q4_K_M.gguf",
    label: "DeepSeek-Coder 1.3B base (Q4_K_M, ~0.9 GB)",
};

export interface ResolvedModel {
    path: string;
    /** Set when the model is not what the user configured (e.g. the offline fixture). */
    note?: string;
    isFixture: boolean;
}

export function isModelUri(setting: string): boolean {
    return /^(hf:|huggingface:|https?:\/\/)/i.test(setting.trim());
}

export function expandHome(path: string): string {
    return path === "~" || path.startsWith("~/") ? join(homedir(), path.slice(1)) : path;
}

export async function resolveModel(
    setting: string,
    options: { downloadDirectory: string; onDownloadProgress?(downloaded: number, total: number): void; signal?: AbortSignal },
): Promise<ResolvedModel> {
    const value = setting.trim();
    if (isModelUri(value)) {
        const { path } = await downloadModel(
            { uri: value, directory: options.downloadDirectory },
            { signal: options.signal, onProgress: (p) => options.onDownloadProgress?.(p.downloadedBytes, p.totalBytes) },
        );
        return { path, isFixture: false };
    }
    if (value) return { path: resolve(expandHome(value)), isFixture: false };

    const downloadedDefault = join(options.downloadDirectory, defaultModel.fileName);
    if (existsSync(downloadedDefault)) return { path: downloadedDefault, isFixture: false };
    return {
        path: await ensureFixture("rand"),
        isFixture: true,
        note: `No model configured: using a generated random-weight fixture model (its output is noise). ` +
            `Download a real one with --model ${defaultModel.uri}`,
    };
}
