// Builds the VSIX (or lists what it holds) with @vscode/vsce from a staged folder (stage.ts): our
// bundles and media, node-llama-cpp's runtime as its imports reach it (runtimeFiles.ts), and the
// one binary set the loaders pick (nativeBinary.ts). .vscodeignore then drops what npm packages
// carry that never runs.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { ClaspGpu } from "../../src/engine/native/index.ts";
import { patchedBinary, stockBinary, type ShippedBinary } from "./nativeBinary.ts";
import { traceRuntimeFiles } from "./runtimeFiles.ts";
import { OWN_FILES, stageExtension, type Stage } from "./stage.ts";

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** The ceiling for one platform's package. */
export const MAX_VSIX_BYTES = 45 * 1024 * 1024;
const VSCE = path.join(PROJECT_ROOT, "node_modules", "@vscode", "vsce", "vsce");

export interface PackageOptions {
    /** vsce's target name; only the machine's own platform can be packaged (its binaries are the ones installed). */
    target: string;
    gpu: ClaspGpu;
    /** Ship node-llama-cpp's stock binary even where a patched build exists (plain and lookup decoding only). */
    withoutPatchedBinary: boolean;
}

export function hostTarget(): string {
    return `${process.platform}-${process.arch}`;
}

export function vsixFileName(target: string): string {
    const { name, version } = JSON.parse(readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8")) as { name: string; version: string };
    return `${name}-${version}-${target}.vsix`;
}

/** The binary set to ship: the patched build when the engine's loader finds one, else node-llama-cpp's own. */
export async function chooseBinary(options: PackageOptions, log: (line: string) => void): Promise<ShippedBinary> {
    if (!options.withoutPatchedBinary) {
        try {
            return await patchedBinary(PROJECT_ROOT, options.gpu);
        } catch (error) {
            log(`no CLaSp-patched build to ship (${error instanceof Error ? error.message : String(error)}); ` +
                "shipping node-llama-cpp's stock binary: the installed extension will run plain and lookup decoding only");
        }
    }
    return stockBinary(PROJECT_ROOT, options.gpu);
}

async function stage(options: PackageOptions, log: (line: string) => void): Promise<{ stage: Stage; binary: ShippedBinary }> {
    if (options.target !== hostTarget())
        throw new Error(`--target ${options.target}: a VSIX ships the binaries installed here, so build it on a ${options.target} machine (this one is ${hostTarget()})`);
    const missing = OWN_FILES.filter((file) => !existsSync(path.join(PROJECT_ROOT, file)));
    if (missing.length > 0) throw new Error(`missing ${missing.join(", ")} (run npm run build first for the bundles)`);
    const runtime = await traceRuntimeFiles(PROJECT_ROOT);
    const binary = await chooseBinary(options, log);
    return { stage: stageExtension(PROJECT_ROOT, runtime, binary), binary };
}

function vsce(cwd: string, args: string[]): string {
    // --no-dependencies: the stage already holds the runtime; vsce must not add npm's dependency tree.
    return execFileSync(process.execPath, [VSCE, ...args, "--no-dependencies"], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
}

/** `vsce ls` of the staged folder: exactly the files the VSIX would hold, and the binary chosen. */
export async function listPackageFiles(options: PackageOptions, log: (line: string) => void = () => undefined): Promise<{ files: string[]; binary: ShippedBinary }> {
    const { stage: staged, binary } = await stage(options, log);
    try {
        const files = vsce(staged.dir, ["ls"]).split("\n").map((line) => line.trim()).filter(Boolean);
        return { files, binary };
    } finally {
        staged.remove();
    }
}

/** Builds `out` from the current bundles; returns the binary chosen. */
export async function packageVsix(options: PackageOptions, out: string, log: (line: string) => void): Promise<ShippedBinary> {
    const { stage: staged, binary } = await stage(options, log);
    try {
        log(`shipping ${describeBinary(binary)}`);
        log(vsce(staged.dir, ["package", "--target", options.target, "--out", out]).trim());
        return binary;
    } finally {
        staged.remove();
    }
}

export function describeBinary(binary: ShippedBinary): string {
    return binary.kind === "patched"
        ? `the CLaSp-patched llama.cpp (${binary.gpu}) from ${binary.folder}`
        : `node-llama-cpp's stock binary (${binary.gpu}) from ${binary.packageDir}, without layer skip`;
}
