// The pure half of "CLaSp: Build Accelerated Backend": which tools the build needs for a backend,
// what to tell a user who lacks some, and how far along a build is from its output lines. Kept
// apart from `vscode` and child processes so it is unit-tested.
import { existsSync } from "node:fs";
import path from "node:path";
import type { GpuChoice } from "../engine/protocol.ts";

export type BuildGpu = Exclude<GpuChoice, "auto">;

interface Tool {
    /** Executable names, any of which will do. */
    names: string[];
    what: string;
    install: string;
}

const npm: Tool = { names: ["npm"], what: "npm", install: "install Node.js (it brings npm): fetches the pinned node-llama-cpp with llama.cpp's source" };
const git: Tool = { names: ["git"], what: "git", install: "install git: unpacks llama.cpp's source" };
const cmake: Tool = { names: ["cmake"], what: "CMake", install: "install CMake 3.19 or newer" };
const compiler: Tool = { names: ["c++", "g++", "clang++", "cl"], what: "a C++ compiler", install: "install build-essential (Linux), the Xcode command line tools (macOS) or Visual Studio's C++ workload (Windows)" };
const gpuTools: Record<BuildGpu, Tool[]> = {
    cpu: [],
    cuda: [{ names: ["nvcc"], what: "the CUDA toolkit", install: "install NVIDIA's CUDA toolkit and put its bin folder (nvcc) on PATH" }],
    vulkan: [{ names: ["glslc"], what: "the Vulkan SDK", install: "install the Vulkan SDK (glslc must be on PATH)" }],
    metal: [{ names: ["xcrun"], what: "Xcode", install: "install Xcode or its command line tools" }],
};

export function requiredTools(gpu: BuildGpu): Tool[] {
    return [npm, git, cmake, compiler, ...gpuTools[gpu]];
}

/** The executable `name` on `searchPath`, with Windows' extensions, or undefined. */
export function findOnPath(name: string, searchPath = process.env.PATH ?? "", platform = process.platform): string | undefined {
    const extensions = platform === "win32" ? (process.env.PATHEXT ?? ".EXE;.CMD;.BAT").split(";") : [""];
    for (const dir of searchPath.split(path.delimiter).filter(Boolean)) {
        for (const extension of extensions) {
            const candidate = path.join(dir, name + extension);
            if (existsSync(candidate)) return candidate;
        }
    }
    return undefined;
}

/** One readable message naming every missing tool and how to get it, or undefined when all are there. */
export function missingToolsMessage(gpu: BuildGpu, found: (name: string) => boolean = (name) => findOnPath(name) !== undefined): string | undefined {
    const missing = requiredTools(gpu).filter((tool) => !tool.names.some(found));
    if (missing.length === 0) return undefined;
    return `Building the ${gpu.toUpperCase()} backend needs ${missing.map((tool) => tool.what).join(", ")}, not found on PATH. ` +
        missing.map((tool) => `${tool.what}: ${tool.install}.`).join(" ");
}

/** `[37/279] Building CXX object …` (ninja) as a fraction of the compile, or undefined. */
export function compileFraction(line: string): number | undefined {
    const match = /^\[(\d+)\/(\d+)\]/.exec(line.trim());
    if (!match) return undefined;
    const [done, total] = [Number(match[1]), Number(match[2])];
    return total > 0 ? Math.min(1, done / total) : undefined;
}

/** The backend to build when the user has not chosen one: their setting, else what the platform is known for. */
export function defaultBuildGpu(setting: GpuChoice, platform = process.platform, arch = process.arch): BuildGpu {
    if (setting !== "auto") return setting;
    return platform === "darwin" && arch === "arm64" ? "metal" : "cpu";
}
