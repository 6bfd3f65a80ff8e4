// Writes a `clasp.*` setting where it takes effect: the most specific scope that already sets it.
import * as vscode from "vscode";
import { writeTargetFor } from "./settingsSync.ts";

const targets = {
    global: vscode.ConfigurationTarget.Global,
    workspace: vscode.ConfigurationTarget.Workspace,
    workspaceFolder: vscode.ConfigurationTarget.WorkspaceFolder,
} as const;

export function writeSetting(key: string, value: unknown): Thenable<void> {
    const section = vscode.workspace.getConfiguration("clasp");
    return section.update(key, value, targets[writeTargetFor(section.inspect(key))]);
}
