// Public surface of the CLaSp native layer.
export { loadClaspLlama, claspCmakeOptions, type ClaspGpu, type LoadClaspLlamaOptions } from "./loadClaspLlama.ts";
export {
    createClaspNative, supportsLayerSkip,
    type ClaspNative, type ClaspInfo, type DraftOptions, type DraftResult, type OptimizeResult, type OptimizeTrace, type RoundOptions, type RoundResult,
    type PhaseThreads, type TargetSampling,
} from "./claspNative.ts";
export { ClaspBuildMissingError, ClaspUnsupportedError, ClaspArgumentError, BUILD_COMMAND } from "./errors.ts";
export { CLASP_PATCH_VERSION } from "./patchVersion.ts";
export { trimNativeHeap } from "./bindings.ts";
