// The CMake options of the CLaSp build: one source for native/build.mjs (which builds with them) and
// src/engine/native/loadClaspLlama.ts (which asks node-llama-cpp for exactly that build: the options are
// hashed into the build folder's name).
//
// They reproduce how node-llama-cpp 3.21.1 configures its own prebuilt binaries (its CI mode in
// dist/bindings/utils/compileLLamaCpp.js): no -march=native, the CPU code compiled once per x86-64 (or
// ARM, ...) feature level as dynamically loaded backends, of which ggml loads at run time the best one
// this CPU supports, and ggml's own thread pool instead of OpenMP. So plain decoding runs the same
// kernels as the stock binary and never an instruction the CPU lacks (this VM advertises AMX and traps it).

/** Platforms where ggml 0.4.0 and node-llama-cpp build every CPU variant (the clause of GGML_CPU_ALL_VARIANTS). */
function hasCpuVariants(platform, arch) {
    if (arch === "x64") return true;
    if (arch === "arm64" || arch === "arm") return platform === "linux" || platform === "darwin";
    return platform === "linux" && ["ppc64", "ppc", "s390x", "riscv64"].includes(arch);
}

/**
 * @param {number} patchVersion native/PATCH_VERSION
 * @param {{ platform: string, arch: string }} target process.platform and process.arch of the machine that runs the build
 * @returns {Record<string, string>}
 */
export function claspCmakeOptions(patchVersion, { platform, arch }) {
    return {
        NLC_CLASP: String(patchVersion),
        GGML_NATIVE: "OFF",
        GGML_OPENMP: "OFF",
        GGML_BACKEND_DL: "ON",
        ...(hasCpuVariants(platform, arch) ? { GGML_CPU_ALL_VARIANTS: "ON" } : {}),
    };
}
