// The standard @vscode/test-electron entry, for machines that can download desktop VS Code
// (this one cannot: use `npm run test:integration`, which runs the same suite in code-server).
// Run with `npm run test:integration:electron`. Desktop VS Code is not remote, so the machine-scoped
// clasp.model goes into the user settings of a throwaway user-data-dir.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { runTests } from "@vscode/test-electron";
import { onCleanup, runDriver } from "../../scripts/vscode-test/cleanup.ts";
import { assertExtensionBuilt } from "../../scripts/vscode-test/extensionBuild.ts";
import { fixtureModelPath } from "../../scripts/vscode-test/fixtureModel.ts";
import { QUIET_USER_SETTINGS } from "../../scripts/vscode-test/codeServer.ts";
import { EXTENSION_DIR } from "../../scripts/vscode-test/paths.ts";
import { jsonText, writeTree } from "../../scripts/vscode-test/writeTree.ts";
import { bundleSuite } from "./bundleSuite.ts";
import { extensionEnvironment, machineSettings, resultFileIn, workspaceFiles } from "./testWorkspace.ts";

async function main(): Promise<number> {
    assertExtensionBuilt();
    const modelPath = await fixtureModelPath();
    const suiteEntry = await bundleSuite();
    const dir = mkdtempSync(path.join(os.tmpdir(), "clasp-electron-"));
    onCleanup(() => rmSync(dir, { recursive: true, force: true }));
    const workspace = path.join(dir, "workspace");
    writeTree(workspace, workspaceFiles);
    writeTree(dir, { "ud/User/settings.json": jsonText({ ...QUIET_USER_SETTINGS, ...machineSettings(modelPath) }) });
    // Rejects when VS Code cannot be downloaded or the suite fails; runDriver reports either.
    await runTests({
        version: process.env.CLASP_VSCODE_VERSION ?? "stable",
        extensionDevelopmentPath: EXTENSION_DIR,
        extensionTestsPath: suiteEntry,
        extensionTestsEnv: extensionEnvironment(modelPath, resultFileIn(dir)),
        launchArgs: [workspace, "--user-data-dir", path.join(dir, "ud"), "--disable-extensions", "--disable-workspace-trust"],
    });
    return 0;
}

runDriver(main);
