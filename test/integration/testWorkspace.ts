// What both integration entries (code-server and @vscode/test-electron) give the extension host:
// the fixture model as a machine-level setting, and a workspace that tries to override it.
import path from "node:path";
import { jsonText } from "../../scripts/vscode-test/writeTree.ts";

/** A path the workspace settings name; the machine-scoped clasp.model must never use it. */
export const WORKSPACE_MODEL_OVERRIDE = "/nonexistent/workspace-chosen-model.gguf";

export function machineSettings(modelPath: string): Record<string, unknown> {
    return { "clasp.model": modelPath };
}

export const workspaceFiles: Record<string, string> = {
    ".vscode/settings.json": jsonText({ "clasp.model": WORKSPACE_MODEL_OVERRIDE }),
    "README.md": "Workspace for the CLaSp Complete integration tests.\n",
};

export function extensionEnvironment(modelPath: string, resultFile: string): Record<string, string> {
    return {
        CLASP_IT_MODEL: modelPath,
        CLASP_IT_WORKSPACE_MODEL: WORKSPACE_MODEL_OVERRIDE,
        CLASP_IT_RESULT_FILE: resultFile,
        ...(process.env.CLASP_IT_GREP ? { CLASP_IT_GREP: process.env.CLASP_IT_GREP } : {}),
    };
}

export function resultFileIn(dir: string): string {
    return path.join(dir, "results.json");
}
