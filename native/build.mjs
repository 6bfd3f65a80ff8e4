#!/usr/bin/env node
// Builds node-llama-cpp's llama.cpp with the CLaSp patch and addon, offline and idempotently:
//   source download (git bundle inside the package, only if needed) -> apply native/llama.cpp.patch
//   (skipped when already applied) -> copy native/addon + anchored registration edits -> full
//   `node-llama-cpp source build` tagged NLC_CLASP=<PATCH_VERSION> -> verify the exports load.
// A build whose inputs did not change is left alone; when only addon sources changed, the existing
// build folder is rebuilt incrementally. Usage:
//   node native/build.mjs [--gpu auto|cuda|metal|vulkan|cpu] [--incremental] [--full] [--fresh] [--postinstall] [--no-verify]
// --no-verify: skip loading the result through src/engine/native (a user's machine building from the
// installed extension has no TypeScript sources; the extension checks the engine loads it instead).
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { claspCmakeOptions } from "./cmakeOptions.mjs";

const nativeDir = path.dirname(fileURLToPath(import.meta.url));
const projectDir = path.dirname(nativeDir);
const PINNED_NODE_LLAMA_CPP = "3.21.1";
const GPU_CHOICES = ["auto", "cuda", "metal", "vulkan", "cpu"];
const MARKER = "// CLaSp";

class BuildError extends Error {}

function parseArgs(argv) {
    const args = { gpu: "cpu", incremental: false, full: false, fresh: false, postinstall: false, verify: true };
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === "--gpu") args.gpu = argv[++i];
        else if (arg.startsWith("--gpu=")) args.gpu = arg.slice("--gpu=".length);
        else if (arg === "--incremental") args.incremental = true;
        else if (arg === "--full") args.full = true;
        else if (arg === "--fresh") args.fresh = true;
        else if (arg === "--postinstall") args.postinstall = true;
        else if (arg === "--no-verify") args.verify = false;
        else throw new BuildError(`unknown argument ${JSON.stringify(arg)}`);
    }
    if (!GPU_CHOICES.includes(args.gpu)) throw new BuildError(`--gpu must be one of ${GPU_CHOICES.join(", ")}, got ${JSON.stringify(args.gpu)}`);
    return args;
}

const log = (message) => console.log(`[build:native] ${message}`);

function run(command, args, options = {}) {
    const result = spawnSync(command, args, { stdio: "inherit", cwd: projectDir, ...options });
    if (result.status !== 0) throw new BuildError(`${command} ${args.join(" ")} failed (exit ${result.status ?? result.signal})`);
}

function nodeLlamaCppRoot() {
    const root = path.join(projectDir, "node_modules", "node-llama-cpp");
    const manifest = path.join(root, "package.json");
    if (!fs.existsSync(manifest)) throw new BuildError("node-llama-cpp is not installed: run `npm ci` first");
    const { version } = JSON.parse(fs.readFileSync(manifest, "utf8"));
    if (version !== PINNED_NODE_LLAMA_CPP)
        throw new BuildError(`the patch targets node-llama-cpp ${PINNED_NODE_LLAMA_CPP}, found ${version}`);
    return root;
}

const sha256 = (...parts) => {
    const hash = createHash("sha256");
    for (const part of parts) hash.update(part);
    return hash.digest("hex");
};

function addonSources() {
    const files = [];
    const walk = (dir) => {
        for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
            const full = path.join(dir, entry.name);
            if (entry.isDirectory()) walk(full);
            else files.push(path.relative(path.join(nativeDir, "addon"), full));
        }
    };
    walk(path.join(nativeDir, "addon"));
    return files;
}

// node-llama-cpp's CLI of THIS project's install (npx could resolve another copy through symlinks)
function nodeLlamaCpp(root, args, env = process.env) {
    run(process.execPath, [path.join(root, "dist", "cli", "cli.js"), ...args], { env });
}

function ensureLlamaCppSource(root, fresh) {
    if (!fresh && fs.existsSync(path.join(root, "llama", "llama.cpp", "CMakeLists.txt"))) return;
    log("downloading llama.cpp source from the git bundle inside node-llama-cpp (offline)");
    nodeLlamaCpp(root, ["source", "download", "--skipBuild", "--noUsageExample"]);
}

function applyPatch(llamaCppDir, patchFile) {
    const git = (...args) => spawnSync("git", ["-C", llamaCppDir, ...args], { stdio: "pipe" });
    if (git("apply", "--reverse", "--check", patchFile).status === 0) {
        log("llama.cpp patch already applied");
        return;
    }
    const check = git("apply", "--check", patchFile);
    if (check.status !== 0)
        throw new BuildError("native/llama.cpp.patch does not apply to node-llama-cpp's llama.cpp (a different or modified tree); " +
            "rerun with --fresh to re-download the source.\n" + check.stderr.toString());
    if (git("apply", patchFile).status !== 0) throw new BuildError("git apply of native/llama.cpp.patch failed");
    log("llama.cpp patch applied");
}

// Writes only when the content differs, so ninja rebuilds only what changed.
function writeIfChanged(file, content) {
    if (fs.existsSync(file) && fs.readFileSync(file).equals(Buffer.from(content))) return false;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
    return true;
}

// Inserts `insertion` after `anchor`; `replaces` matches an earlier version of the same edit (a
// source tree edited by an older build.mjs), which goes, so a changed edit never runs twice.
function anchoredEdit(file, anchor, insertion, replaces) {
    const original = fs.readFileSync(file, "utf8");
    const text = replaces ? original.replace(replaces, (line) => (line === insertion ? line : "")) : original;
    if (text.includes(insertion)) {
        if (text !== original) fs.writeFileSync(file, text);
        return;
    }
    if (text.split(anchor).length !== 2) throw new BuildError(`anchor not found exactly once in ${file}: ${JSON.stringify(anchor)}`);
    fs.writeFileSync(file, text.replace(anchor, anchor + insertion));
}

function installAddon(llamaDir, patchVersion) {
    const addonDir = path.join(llamaDir, "addon");
    for (const rel of addonSources())
        writeIfChanged(path.join(addonDir, rel), fs.readFileSync(path.join(nativeDir, "addon", rel)));
    writeIfChanged(path.join(addonDir, "ClaspVersion.h"),
        `#pragma once\n// generated by native/build.mjs from native/PATCH_VERSION\n#define CLASP_PATCH_VERSION ${patchVersion}\n`);

    const addonCpp = path.join(addonDir, "addon.cpp");
    anchoredEdit(addonCpp, '#include "AddonContext.h"\n', `#include "AddonClasp.h" ${MARKER}\n`);
    anchoredEdit(addonCpp, "    AddonSampler::init(exports);\n", `    addonClaspInit(exports); ${MARKER}\n`);
    // AddonClaspThreads.cpp: per-phase thread counts (src/engine/threadPlan.ts)
    anchoredEdit(addonCpp, '#include "AddonContext.h"\n', `void addonClaspThreadsInit(Napi::Object exports); ${MARKER}\n`);
    anchoredEdit(addonCpp, "    AddonSampler::init(exports);\n", `    addonClaspThreadsInit(exports); ${MARKER}\n`);
    // CLaSp's temporary sequences share their source's KV cells, which needs a unified KV cache; with
    // one sequence it is the split one, and a shared engine's per-window sequences stay CLaSp-capable
    anchoredEdit(path.join(addonDir, "AddonContext.cpp"),
        '            context_params.swa_full = options.Get("swaFullCache").As<Napi::Boolean>().Value();\n        }\n    }\n',
        `    context_params.kv_unified = true; ${MARKER}\n`,
        new RegExp(`^ *context_params\\.kv_unified = .*${MARKER}\\n`, "gm"));
}

const expectedOptions = (patchVersion) => claspCmakeOptions(patchVersion, { platform: process.platform, arch: process.arch });

// node-llama-cpp takes custom CMake options from NODE_LLAMA_CPP_CMAKE_OPTION_<NAME> variables
function cmakeOptionEnv(patchVersion) {
    return Object.fromEntries(Object.entries(expectedOptions(patchVersion)).map(([name, value]) => [`NODE_LLAMA_CPP_CMAKE_OPTION_${name}`, value]));
}

const sameOptions = (a, b) => JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

// The finished build made with exactly this patch version's options; builds with other options
// (an older configuration another process may still be using) are left alone.
function findBuildFolder(llamaDir, patchVersion, gpu) {
    const builds = path.join(llamaDir, "localBuilds");
    if (!fs.existsSync(builds)) return null;
    const wanted = expectedOptions(patchVersion);
    for (const name of fs.readdirSync(builds)) {
        const metadataFile = path.join(builds, name, "Release", "_nlcBuildMetadata.json");
        if (!fs.existsSync(metadataFile) || !fs.existsSync(path.join(builds, name, "buildDone.status"))) continue;
        const options = JSON.parse(fs.readFileSync(metadataFile, "utf8")).buildOptions ?? {};
        const builtGpu = options.gpu === false ? "cpu" : options.gpu;
        if (sameOptions(options.customCmakeOptions ?? {}, wanted) && (gpu === "auto" || builtGpu === gpu)) return path.join(builds, name);
    }
    return null;
}

function fullBuild(root, patchVersion, gpu) {
    log(`full build (gpu: ${gpu}); this takes 10-30 minutes on 2 cores (every CPU variant)`);
    nodeLlamaCpp(root, ["source", "build", "--gpu", gpu === "cpu" ? "false" : gpu, "--noUsageExample"],
        { ...process.env, ...cmakeOptionEnv(patchVersion) });
}

// A new file renamed over the old one: a process that has the old library mapped (a test run, an
// engine) keeps its pages; copying over it in place would hand it a Bus error.
function replaceFile(from, to) {
    const temporary = `${to}.${process.pid}.tmp`;
    fs.copyFileSync(from, temporary);
    fs.renameSync(temporary, to);
}

function incrementalBuild(buildFolder) {
    log(`incremental build in ${path.relative(projectDir, buildFolder)}`);
    // re-run the configure step so the addon glob sees new source files
    run("cmake", [buildFolder], { stdio: "pipe" });
    run("cmake", ["--build", buildFolder, "--config", "Release", "-j", "2"]);
    // the .node loads the libraries next to it in Release/ ($ORIGIN), which the first build copied there
    const releaseDir = path.join(buildFolder, "Release");
    const binDir = path.join(buildFolder, "bin");
    for (const dir of [binDir, path.join(binDir, "Release")]) {
        if (!fs.existsSync(dir)) continue;
        for (const name of fs.readdirSync(dir)) {
            if (/\.(so|dylib|dll|node)(\.\d+)*$/.test(name)) replaceFile(path.join(dir, name), path.join(releaseDir, name));
        }
    }
}

function verify(gpu) {
    const script = `
        import { loadClaspLlama } from "./src/engine/native/loadClaspLlama.ts";
        const llama = await loadClaspLlama({ gpu: ${JSON.stringify(gpu)} });
        console.log("[build:native] verified: clasp exports present, patch version " + llama._bindings.claspPatchVersion + ", gpu " + llama.gpu);
        await llama.dispose();
    `;
    run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script]);
}

function main() {
    const args = parseArgs(process.argv.slice(2));
    const started = Date.now();
    const root = nodeLlamaCppRoot();
    const llamaDir = path.join(root, "llama");
    const patchFile = path.join(nativeDir, "llama.cpp.patch");
    const patchVersion = Number.parseInt(fs.readFileSync(path.join(nativeDir, "PATCH_VERSION"), "utf8").trim(), 10);
    if (!Number.isInteger(patchVersion) || patchVersion < 1) throw new BuildError("native/PATCH_VERSION must be a positive integer");

    ensureLlamaCppSource(root, args.fresh);
    applyPatch(path.join(llamaDir, "llama.cpp"), patchFile);
    installAddon(llamaDir, patchVersion);

    const patchHash = sha256(fs.readFileSync(patchFile), String(patchVersion));
    // this script's anchored edits are addon source too
    const addonHash = sha256(...addonSources().flatMap(rel => [rel, fs.readFileSync(path.join(nativeDir, "addon", rel))]), fs.readFileSync(fileURLToPath(import.meta.url)));
    let buildFolder = findBuildFolder(llamaDir, patchVersion, args.gpu);
    const stampFile = buildFolder && path.join(buildFolder, "clasp-inputs.json");
    const stamp = stampFile && fs.existsSync(stampFile) ? JSON.parse(fs.readFileSync(stampFile, "utf8")) : null;

    if (buildFolder && !args.full && stamp?.patchHash === patchHash && stamp?.addonHash === addonHash) {
        log("patched build is up to date");
    } else if (buildFolder && !args.full && (args.incremental || stamp?.patchHash === patchHash)) {
        incrementalBuild(buildFolder);
    } else {
        if (args.incremental) log("no existing patched build to update incrementally: doing a full build");
        fullBuild(root, patchVersion, args.gpu);
        buildFolder = findBuildFolder(llamaDir, patchVersion, args.gpu);
        if (!buildFolder) throw new BuildError("the build finished but its folder was not found under llama/localBuilds");
    }
    fs.writeFileSync(path.join(buildFolder, "clasp-inputs.json"), JSON.stringify({ patchHash, addonHash }, null, 2) + "\n");
    if (args.verify) verify(args.gpu);
    log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

try {
    main();
} catch (error) {
    const postinstall = process.argv.includes("--postinstall");
    console.error(`[build:native] FAILED: ${error instanceof BuildError ? error.message : error?.stack ?? error}`);
    console.error("[build:native] CLaSp needs the patched llama.cpp build. Fix the cause above, then run `npm run build:native`.");
    // On developer machines without a compiler `npm ci` still completes; CI must fail here.
    process.exit(postinstall && !process.env.CI ? 0 : 1);
}

