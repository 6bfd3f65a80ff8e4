// The extension host loads plain CommonJS, so the TypeScript suite is bundled first: one file per
// test plus the mocha entry, with `vscode` and `mocha` left to the host's own resolution. Each run
// gets its own folder under out/ (inside the extension's folder, so the tests share the
// extension's `vscode` API object; beside node_modules, so `mocha` resolves), removed at the end:
// two runs at once never delete each other's bundle.
import { readdirSync, rmSync } from "node:fs";
import path from "node:path";
import * as esbuild from "esbuild";
import { onCleanup } from "../../scripts/vscode-test/cleanup.ts";
import { PROJECT_ROOT } from "../../scripts/vscode-test/paths.ts";

const SUITE_DIR = path.join(PROJECT_ROOT, "test/integration/suite");

/** Bundles the suite and returns the path of its `extensionTestsPath` entry. */
export async function bundleSuite(): Promise<string> {
    const outdir = path.join(PROJECT_ROOT, "out/integration", `run-${process.pid}-${Date.now().toString(36)}`);
    onCleanup(() => rmSync(outdir, { recursive: true, force: true }));
    const entryPoints = readdirSync(SUITE_DIR)
        .filter((name) => name === "index.ts" || name.endsWith(".test.ts"))
        .map((name) => path.join(SUITE_DIR, name));
    await esbuild.build({
        entryPoints,
        outdir,
        outExtension: { ".js": ".cjs" },
        bundle: true,
        platform: "node",
        format: "cjs",
        target: "node20",
        sourcemap: "inline",
        external: ["vscode", "mocha"],
        logLevel: "warning",
    });
    return path.join(outdir, "index.cjs");
}
