// Which llama.cpp binaries the VSIX ships, found by asking the loaders that will load them at run
// time rather than by guessing folder names: the engine's own loader for the CLaSp-patched build
// (src/engine/native/loadClaspLlama.ts), node-llama-cpp's for its stock prebuilt binary. Whatever
// folder and file layout the native build uses, the package holds exactly what was loaded.
import path from "node:path";
import { getLlama, type Llama } from "node-llama-cpp";
import { loadClaspLlama, type ClaspGpu } from "../../src/engine/native/index.ts";

export type ShippedBinary =
    /** `folder`: the build folder under node-llama-cpp/llama/localBuilds (the addon sits in its Release/). */
    | { kind: "patched"; folder: string; gpu: string }
    /** `packageDir`: node-llama-cpp's prebuilt binary package for this platform, e.g. node_modules/@node-llama-cpp/linux-x64. */
    | { kind: "stock"; packageDir: string; gpu: string };

/**
 * The addon of one kind this process has loaded, from the shared objects Node's diagnostic report
 * lists (node-llama-cpp drops it from require's cache right after loading it). `from` tells the
 * kinds apart: a process that loaded both binaries (the test run, a benchmark) lists both, and a
 * shared object stays mapped after its Llama is disposed.
 */
function loadedAddonPath(from: RegExp): string {
    const report = process.report.getReport() as unknown as { sharedObjects: string[] };
    const loaded = report.sharedObjects.filter((file) => path.basename(file) === "llama-addon.node" && from.test(file.split(path.sep).join("/")));
    if (loaded.length !== 1) throw new Error(`expected one loaded llama addon matching ${from}, found ${loaded.length}: ${loaded.join(", ")}`);
    return loaded[0]!;
}

const PATCHED_ADDON = /\/node-llama-cpp\/llama\/localBuilds\//;
const STOCK_ADDON = /\/@node-llama-cpp\//;

async function withLoaded<T>(llama: Llama, read: () => T): Promise<T> {
    try {
        return read();
    } finally {
        await llama.dispose();
    }
}

/** The patched build the engine's loader picks for `gpu`; throws the loader's own error when there is none. */
export async function patchedBinary(projectRoot: string, gpu: ClaspGpu): Promise<ShippedBinary> {
    const llama = await loadClaspLlama({ gpu });
    return withLoaded(llama, () => {
        if (llama.buildType !== "localBuild") throw new Error(`the CLaSp loader returned a ${llama.buildType} binary, not a local build`);
        const releaseDir = path.dirname(loadedAddonPath(PATCHED_ADDON));
        const folder = path.relative(projectRoot, path.dirname(releaseDir));
        const localBuilds = path.join("node_modules", "node-llama-cpp", "llama", "localBuilds");
        if (path.dirname(folder) !== localBuilds || path.basename(releaseDir) !== "Release")
            throw new Error(`the patched addon was loaded from ${releaseDir}, outside ${localBuilds}/<build>/Release`);
        return { kind: "patched", folder, gpu: llama.gpu === false ? "cpu" : llama.gpu };
    });
}

/** node-llama-cpp's own prebuilt binary for this machine (what the engine falls back to without a patched build). */
export async function stockBinary(projectRoot: string, gpu: ClaspGpu): Promise<ShippedBinary> {
    const llama = await getLlama({ gpu: gpu === "cpu" ? false : gpu, build: "never", progressLogs: false, logLevel: "error" as never });
    return withLoaded(llama, () => {
        if (llama.buildType !== "prebuilt") throw new Error(`node-llama-cpp loaded a ${llama.buildType} binary, not its prebuilt one`);
        const addon = path.relative(projectRoot, loadedAddonPath(STOCK_ADDON));
        // node_modules/@node-llama-cpp/<platform>/bins/<variant>/llama-addon.node
        const match = /^(node_modules\/@node-llama-cpp\/[^/]+)\//.exec(addon.split(path.sep).join("/"));
        if (!match) throw new Error(`node-llama-cpp's prebuilt addon was loaded from ${addon}, not from an @node-llama-cpp package`);
        return { kind: "stock", packageDir: match[1]!, gpu: llama.gpu === false ? "cpu" : llama.gpu };
    });
}
