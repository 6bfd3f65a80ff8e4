// Lays out, in a fresh folder, exactly what the VSIX holds, so vsce packs that folder and never
// walks this checkout (node-llama-cpp's llama.cpp tree, .vscode-test, caches). The runtime goes to
// dist/node_modules, next to the engine bundle that imports it: vsce leaves a top-level
// node_modules to its own npm dependency detection, which would take every production dependency.
import { cpSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ShippedBinary } from "./nativeBinary.ts";
import { NODE_LLAMA_CPP, NODE_LLAMA_CPP_DATA, type RuntimeFiles } from "./runtimeFiles.ts";

/**
 * Our own files in the VSIX: the manifest and what it points at, the bundles, the notices, and
 * native/ (patch, addon sources, build script) for CLaSp: Build Accelerated Backend.
 */
export const OWN_FILES = ["package.json", "README.md", "CHANGELOG.md", "LICENSE", "THIRD_PARTY_NOTICES.md", ".vscodeignore", "media", "native", "dist/extension.cjs", "dist/engine.mjs"];
/** Where the runtime node_modules sits inside the VSIX's extension folder. */
export const RUNTIME_DIR = "dist";

export interface Stage {
    dir: string;
    remove(): void;
}

export function stageExtension(projectRoot: string, runtime: RuntimeFiles, binary: ShippedBinary): Stage {
    const dir = mkdtempSync(path.join(os.tmpdir(), "clasp-package-"));
    const copy = (relative: string, to = relative, filter?: (source: string) => boolean) => {
        mkdirSync(path.dirname(path.join(dir, to)), { recursive: true });
        cpSync(path.join(projectRoot, relative), path.join(dir, to), { recursive: true, ...(filter ? { filter } : {}) });
    };
    const runtimeCopy = (relative: string) => copy(relative, path.join(RUNTIME_DIR, relative));
    // A package's own files; its nested node_modules are packages of their own, copied when reached.
    const wholePackage = (packageDir: string) => {
        const nested = path.join(projectRoot, packageDir, "node_modules");
        copy(packageDir, path.join(RUNTIME_DIR, packageDir), (source) => source !== nested && !source.startsWith(nested + path.sep));
    };

    for (const file of OWN_FILES) copy(file);
    for (const packageDir of runtime.packages) wholePackage(packageDir);
    for (const file of runtime.nodeLlamaCppFiles) runtimeCopy(file);
    for (const file of NODE_LLAMA_CPP_DATA) runtimeCopy(path.join(NODE_LLAMA_CPP, file));
    if (binary.kind === "patched") {
        runtimeCopy(path.join(binary.folder, "Release"));
        runtimeCopy(path.join(binary.folder, "buildDone.status"));
    } else {
        wholePackage(binary.packageDir);
    }
    return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
