// `npm run package [-- --target linux-x64] [--gpu cpu] [--without-patched-binary] [--out FILE] [--ls]`:
// production bundles, then clasp-complete-<version>-<target>.vsix in the project folder, refused
// when it is over the size ceiling. --ls prints the file list instead of packaging.
import { execFileSync } from "node:child_process";
import { statSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import type { ClaspGpu } from "../../src/engine/native/index.ts";
import { gpuChoices } from "../../src/config.ts";
import { summarize } from "./summary.ts";
import { describeBinary, hostTarget, listPackageFiles, MAX_VSIX_BYTES, packageVsix, PROJECT_ROOT, vsixFileName, type PackageOptions } from "./vsix.ts";

const log = (line: string) => console.error(`[package] ${line}`);

async function main(): Promise<void> {
    const { values } = parseArgs({
        options: {
            target: { type: "string", default: hostTarget() },
            gpu: { type: "string", default: "cpu" },
            "without-patched-binary": { type: "boolean", default: false },
            out: { type: "string" },
            ls: { type: "boolean", default: false },
        },
    });
    if (!(gpuChoices as readonly string[]).includes(values.gpu)) throw new Error(`--gpu must be one of ${gpuChoices.join(", ")}, got ${values.gpu}`);
    const options: PackageOptions = { target: values.target, gpu: values.gpu as ClaspGpu, withoutPatchedBinary: values["without-patched-binary"] };

    if (values.ls) {
        const { files, binary } = await listPackageFiles(options, log);
        console.log(files.join("\n"));
        log(`${files.length} files; ${describeBinary(binary)}`);
        return;
    }
    const started = Date.now();
    execFileSync(process.execPath, [path.join(PROJECT_ROOT, "esbuild.js"), "--production"], { cwd: PROJECT_ROOT, stdio: "inherit" });
    const out = path.resolve(values.out ?? path.join(PROJECT_ROOT, vsixFileName(options.target)));
    const binary = await packageVsix(options, out, log);
    const bytes = statSync(out).size;
    const summary = await summarize(out);
    console.log(summary.text);
    log(`${out}: ${(bytes / 1024 / 1024).toFixed(1)} MiB, ${summary.files} files, ${describeBinary(binary)}, built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    if (bytes > MAX_VSIX_BYTES) throw new Error(`${out} is ${(bytes / 1024 / 1024).toFixed(1)} MiB, over the ${MAX_VSIX_BYTES / 1024 / 1024} MiB ceiling`);
}

main().catch((error: unknown) => {
    log(`FAILED: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
});
