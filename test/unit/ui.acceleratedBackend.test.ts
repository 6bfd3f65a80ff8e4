import assert from "node:assert/strict";
import type { ModelInfo } from "../../src/engine/protocol.ts";
import { compileFraction, defaultBuildGpu, missingToolsMessage } from "../../src/ui/buildBackendPlan.ts";
import { BUILD_BACKEND_COMMAND, BUILD_BACKEND_TITLE, layerSkipUnavailable } from "../../src/ui/layerSkipText.ts";
import { presentStatus, toStatusView } from "../../src/ui/statusText.ts";
import manifest from "../../package.json" with { type: "json" };

const model: ModelInfo = {
    path: "/m/SmolLM2.gguf",
    name: "SmolLM2-135M-Instruct",
    architecture: "llama",
    layers: 30,
    embeddingSize: 576,
    vocabularySize: 49152,
    contextSize: 2048,
    hasFim: false,
    supportsLayerSkip: false,
    patchedBuild: false,
    backend: "cpu",
};

describe("layer skip unavailable without a patched binary", () => {
    it("says why and names the command that builds it, only when the stock binary is loaded", () => {
        const note = layerSkipUnavailable(model, "win32-x64");
        assert.match(note ?? "", /no CLaSp-patched llama\.cpp for win32-x64 with CPU/);
        assert.match(note ?? "", /plain and lookup decoding/);
        assert.ok(note?.includes(`"${BUILD_BACKEND_TITLE}"`));
        assert.equal(layerSkipUnavailable({ ...model, patchedBuild: true, supportsLayerSkip: true }), undefined);
        assert.equal(layerSkipUnavailable(undefined), undefined);
    });

    it("puts it on the status bar item and in its tooltip", () => {
        const note = layerSkipUnavailable(model)!;
        const shown = presentStatus({ ...toStatusView({ engineState: "ready", paused: false, busy: false, model }), layerSkipNote: note });
        assert.equal(shown.text, "$(check) CLaSp ready · no layer skip");
        assert.ok(shown.tooltip.includes(note));
        const patched = presentStatus(toStatusView({ engineState: "ready", paused: false, busy: false, model: { ...model, patchedBuild: true } }));
        assert.doesNotMatch(patched.text, /no layer skip/);
    });

    it("names a command the manifest contributes, with the title the text quotes", () => {
        const entry = manifest.contributes.commands.find((command) => command.command === BUILD_BACKEND_COMMAND);
        assert.ok(entry, `package.json contributes no ${BUILD_BACKEND_COMMAND}`);
        assert.equal(`${entry.category}: ${entry.title}`, BUILD_BACKEND_TITLE);
    });
});

describe("Build Accelerated Backend plan", () => {
    it("lists every missing tool with how to install it, before anything is fetched", () => {
        const only = (...present: string[]) => (name: string) => present.includes(name);
        assert.equal(missingToolsMessage("cpu", only("npm", "git", "cmake", "g++")), undefined);
        const cuda = missingToolsMessage("cuda", only("npm", "git", "cmake", "clang++")) ?? "";
        assert.match(cuda, /needs the CUDA toolkit, not found/);
        assert.match(cuda, /nvcc/);
        const bare = missingToolsMessage("vulkan", only()) ?? "";
        for (const what of ["npm", "git", "CMake", "a C++ compiler", "the Vulkan SDK"]) assert.ok(bare.includes(what), `${what} missing from: ${bare}`);
    });

    it("reads compile progress from ninja's [done/total] lines only", () => {
        assert.equal(compileFraction("[37/279] Building CXX object llama.cpp/src/llama.cpp.o"), 37 / 279);
        assert.equal(compileFraction("[build:native] full build (gpu: cpu)"), undefined);
        assert.equal(compileFraction("-- Configuring done"), undefined);
    });

    it("suggests the user's backend, else Metal on Apple silicon and CPU elsewhere", () => {
        assert.equal(defaultBuildGpu("cuda", "linux", "x64"), "cuda");
        assert.equal(defaultBuildGpu("auto", "darwin", "arm64"), "metal");
        assert.equal(defaultBuildGpu("auto", "linux", "x64"), "cpu");
    });
});
