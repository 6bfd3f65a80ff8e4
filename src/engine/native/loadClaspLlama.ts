// Loads node-llama-cpp with ONLY the CLaSp-patched, version-tagged local build. No prebuilt binary
// and no silent fallback: a missing or stale build is a ClaspBuildMissingError naming the build command.
import { getLlama, LlamaLogLevel, type Llama } from "node-llama-cpp";
import { claspCmakeOptions as buildCmakeOptions } from "../../../native/cmakeOptions.mjs";
import { claspBindingsOf } from "./bindings.ts";
import { ClaspBuildMissingError } from "./errors.ts";
import { CLASP_PATCH_VERSION } from "./patchVersion.ts";

export type ClaspGpu = "auto" | "cuda" | "metal" | "vulkan" | "cpu";

export interface LoadClaspLlamaOptions {
    gpu?: ClaspGpu;
    logLevel?: LlamaLogLevel;
    maxThreads?: number;
}

/** The CMake options native/build.mjs builds with on this machine; they are part of the build folder's name. */
export function claspCmakeOptions(): Record<string, string> {
    return buildCmakeOptions(CLASP_PATCH_VERSION, { platform: process.platform, arch: process.arch });
}

export async function loadClaspLlama(options: LoadClaspLlamaOptions = {}): Promise<Llama> {
    const gpu = options.gpu ?? "cpu";
    let llama: Llama;
    try {
        llama = await getLlama({
            gpu: gpu === "cpu" ? false : gpu,
            build: "never",
            // without this, node-llama-cpp may pick an unpatched prebuilt binary (e.g. its CUDA package)
            usePrebuiltBinaries: false,
            cmakeOptions: claspCmakeOptions(),
            progressLogs: false,
            logLevel: options.logLevel ?? LlamaLogLevel.warn,
            ...(options.maxThreads != null ? { maxThreads: options.maxThreads } : {}),
        });
    } catch (error) {
        throw new ClaspBuildMissingError(`no local build tagged NLC_CLASP=${CLASP_PATCH_VERSION} for gpu "${gpu}" could be loaded`, { cause: error });
    }
    try {
        claspBindingsOf(llama);
    } catch (error) {
        // an unpatched or stale binary is never kept loaded
        await llama.dispose();
        throw error;
    }
    return llama;
}
