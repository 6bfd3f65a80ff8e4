// `vsce ls` of what `npm run package` would ship: our files, node-llama-cpp's runtime and exactly
// the patched build the engine's loader picks, and nothing of the source trees, tests, other
// platforms' binaries or llama.cpp's sources.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { RUNTIME_DIR } from "../../scripts/package/stage.ts";
import { traceRuntimeFiles } from "../../scripts/package/runtimeFiles.ts";
import { hostTarget, listPackageFiles, PROJECT_ROOT } from "../../scripts/package/vsix.ts";
import manifest from "../../package.json" with { type: "json" };

const runtime = (file: string) => `${RUNTIME_DIR}/${file}`;

describe("npm run package: the VSIX's file list (vsce ls)", function () {
    this.timeout(120_000);
    let files: string[];
    let patchedFolder: string;

    before(async () => {
        const listed = await listPackageFiles({ target: hostTarget(), gpu: "cpu", withoutPatchedBinary: false });
        assert.equal(listed.binary.kind, "patched", "the CLaSp-patched build must ship (npm run build:native makes it)");
        files = listed.files;
        patchedFolder = listed.binary.kind === "patched" ? listed.binary.folder : "";
    });

    it("holds the bundles, the manifest's icon and walkthrough pages, licence, notices, changelog and the backend build sources", () => {
        const media = manifest.contributes.walkthroughs.flatMap((walkthrough) => walkthrough.steps.map((step) => step.media.markdown));
        for (const file of ["package.json", "README.md", "CHANGELOG.md", "LICENSE", "THIRD_PARTY_NOTICES.md", "dist/extension.cjs", "dist/engine.mjs",
            manifest.icon, ...media, "native/build.mjs", "native/llama.cpp.patch", "native/PATCH_VERSION"])
            assert.ok(files.includes(file), `${file} is not in the VSIX`);
    });

    it("ships the build folder the engine's loader loads, whole, and no other platform's binary", () => {
        const release = runtime(`${patchedFolder}/Release/`);
        assert.ok(files.includes(`${release}llama-addon.node`), `no addon in ${release}`);
        assert.ok(files.includes(runtime(`${patchedFolder}/buildDone.status`)), "node-llama-cpp ignores a build folder without buildDone.status");
        const shippedRelease = files.filter((file) => file.startsWith(release)).map((file) => file.slice(release.length)).sort();
        assert.ok(shippedRelease.includes("_nlcBuildMetadata.json"), "node-llama-cpp ignores a build folder without its metadata");
        assert.ok(shippedRelease.some((file) => /^lib.*ggml.*\.(so|dylib|dll)$|^ggml.*\.dll$/.test(file)), `no ggml library next to the addon: ${shippedRelease.join(", ")}`);
        // Other native modules (reflink's, under node-llama-cpp's downloader) must be this platform's own package.
        for (const binary of files.filter((file) => /\.(node|so|dylib|dll)$/.test(file) && !file.startsWith(release))) {
            const packageDir = /^.*node_modules\/(?:@[^/]+\/)?[^/]+/.exec(binary.slice(RUNTIME_DIR.length + 1))?.[0] ?? "";
            const { os, cpu } = JSON.parse(readFileSync(path.join(PROJECT_ROOT, packageDir, "package.json"), "utf8")) as { os?: string[]; cpu?: string[] };
            assert.ok(os?.includes(process.platform) && cpu?.includes(process.arch), `${binary} is not from a ${hostTarget()}-only package`);
        }
        assert.deepEqual(files.filter((file) => file.includes("@node-llama-cpp/")), [], "node-llama-cpp's prebuilt packages ship only without a patched build");
    });

    it("ships node-llama-cpp's runtime and every package it imports, each under a licence the notices name", async () => {
        const traced = await traceRuntimeFiles(PROJECT_ROOT);
        const notices = readFileSync(path.join(PROJECT_ROOT, "THIRD_PARTY_NOTICES.md"), "utf8");
        assert.ok(files.includes(runtime("node_modules/node-llama-cpp/dist/index.js")));
        for (const file of traced.nodeLlamaCppFiles) assert.ok(files.includes(runtime(file)), `${file} is imported at run time but not shipped`);
        for (const dir of traced.packages) {
            assert.ok(files.includes(runtime(`${dir}/package.json`)), `${dir} is imported at run time but not shipped`);
            const { license } = JSON.parse(readFileSync(path.join(PROJECT_ROOT, dir, "package.json"), "utf8")) as { license?: string };
            assert.ok(license && notices.includes(` ${license}`), `${dir} is licensed ${license}, which THIRD_PARTY_NOTICES.md does not name`);
        }
    });

    it("leaves out llama.cpp's sources, node-llama-cpp's CLI and build tooling, sources, tests, fixtures, maps and type stubs", () => {
        const unwanted = [
            /^src\//, /^test\//, /^bench\//, /^scripts\//, /\.gguf$/, /\.map$/, /\.d\.[cm]?ts$/, /(^|\/)[^/]+\.ts$/, /\.vsix$/,
            /node-llama-cpp\/llama\/llama\.cpp\//, /gitRelease\.bundle$/, /node-llama-cpp\/dist\/cli\/(cli\.js|commands\/)/, /node-llama-cpp\/llama\/(toolchains|xpack|addon)\//,
            /localBuilds\/[^/]+\/(CMakeFiles|llama\.cpp|bin)\//, /(^|\/)node_modules\/(cmake-js|typescript|yargs|octokit|@octokit)\//,
        ];
        for (const pattern of unwanted) assert.deepEqual(files.filter((file) => pattern.test(file)), [], `files matching ${pattern} would ship`);
    });
});
