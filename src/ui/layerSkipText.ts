// What the UI says when the loaded engine cannot draft with skipped layers because this install has
// no CLaSp-patched llama.cpp for the platform or GPU backend, and how to get one. Kept apart from
// `vscode` so the wording is unit-tested.
import type { ModelInfo } from "../engine/protocol.ts";
import { backendLabel } from "./statusText.ts";

export const BUILD_BACKEND_COMMAND = "clasp.buildAcceleratedBackend";
/** As the command palette shows it (package.json contributes the same title and category). */
export const BUILD_BACKEND_TITLE = "CLaSp: Build Accelerated Backend";

/** Why layer-skip drafts are off and what fixes it; undefined when they can run. */
export function layerSkipUnavailable(model: ModelInfo | undefined, platform: string = `${process.platform}-${process.arch}`): string | undefined {
    if (!model) return undefined;
    // The patched build is loaded, but the model's architecture is not one the patch handles.
    if (model.patchedBuild) return model.layerSkipOff && `${model.layerSkipOff[0]!.toUpperCase()}${model.layerSkipOff.slice(1)}.`;
    return `Layer skip is unavailable: this install has no CLaSp-patched llama.cpp for ${platform} with ${backendLabel(model.backend)}, ` +
        "so the engine runs node-llama-cpp's own binary with plain and lookup decoding (suggestions still work). " +
        `Run "${BUILD_BACKEND_TITLE}" to build the patched binary with your own toolchain.`;
}
