// What of node_modules node-llama-cpp needs at run time. esbuild follows every import (static and
// literal dynamic) from the entry the engine imports, so the metafile names each package and each
// node-llama-cpp file that can load; its CLI, its llama.cpp source tree, its build tooling and the
// other platforms' binary packages are never reached. Nothing is written: the bundle is only read.
import path from "node:path";
import * as esbuild from "esbuild";

export interface RuntimeFiles {
    /** Package folders relative to the project, e.g. node_modules/ora or node_modules/ipull/node_modules/pretty-ms. */
    packages: string[];
    /** node-llama-cpp's own JavaScript that can run, relative to the project. */
    nodeLlamaCppFiles: string[];
}

export const NODE_LLAMA_CPP = "node_modules/node-llama-cpp";
/** Files and folders node-llama-cpp reads from disk (not imports) when it loads a binary or a grammar. */
export const NODE_LLAMA_CPP_DATA = [
    "package.json",
    "LICENSE",
    "llama/binariesGithubRelease.json",
    "llama/llama.cpp.info.json",
    "llama/grammars",
];

export async function traceRuntimeFiles(projectRoot: string): Promise<RuntimeFiles> {
    const result = await esbuild.build({
        absWorkingDir: projectRoot,
        entryPoints: [`${NODE_LLAMA_CPP}/dist/index.js`],
        bundle: true,
        platform: "node",
        format: "esm",
        write: false,
        metafile: true,
        outdir: "trace",
        logLevel: "error",
        // The binary packages are chosen per platform (nativeBinary.ts); Electron is the editor's own.
        external: ["@node-llama-cpp/*", "electron"],
        // A native module inside a dependency (reflink's) only has to be seen, not bundled.
        loader: { ".node": "file" },
    });
    const packages = new Set<string>();
    const nodeLlamaCppFiles: string[] = [];
    for (const input of Object.keys(result.metafile.inputs)) {
        const file = input.split(path.sep).join("/");
        const match = /^((?:.*\/)?node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(file);
        if (!match) throw new Error(`node-llama-cpp's runtime reached ${file}, outside node_modules`);
        if (match[1] === NODE_LLAMA_CPP) nodeLlamaCppFiles.push(file);
        else packages.add(match[1]!);
    }
    return { packages: [...packages].sort(), nodeLlamaCppFiles: nodeLlamaCppFiles.sort() };
}
