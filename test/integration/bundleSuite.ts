// The extension host loads plain CommonJS, so the TypeScript suite is bundled first: one file per
// test plus the mocha entry, with `vscode` and `mocha` left to the host's own resolution.
import { readdirSync, rmSync } from "node:fs";
import path from "node:path";
import * as esbuild from "esbuild";
import { PROJECT_ROOT } from "../../scripts/vscode-test/paths.ts";

const SUITE_DIR = path.join(PROJECT_ROOT, "test/integration/suite");
export const SUITE_BUNDLE_DIR = path.join(PROJECT_ROOT, "out/integration");
export const SUITE_ENTRY = path.join(SUITE_BUNDLE_DIR, "index.cjs");

export async function bundleSuite(): Promise<void> {
    rmSync(SUITE_BUNDLE_DIR, { recursive: true, force: true });
    const entryPoints = readdirSync(SUITE_DIR)
        .filter((name) => name === "index.ts" || name.endsWith(".test.ts"))
        .map((name) => path.join(SUITE_DIR, name));
    await esbuild.build({
        entryPoints,
        outdir: SUITE_BUNDLE_DIR,
        outExtension: { ".js": ".cjs" },
        bundle: true,
        platform: "node",
        format: "cjs",
        target: "node20",
        sourcemap: "inline",
        external: ["vscode", "mocha"],
        logLevel: "warning",
    });
}
