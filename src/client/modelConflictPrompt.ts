// What a window says when the shared engine already runs another model for other windows: why,
// and the two ways on. Dismissing it keeps the shared model (nothing is loaded twice unasked).
import * as vscode from "vscode";
import type { ConflictChoice } from "./sharedEngine.ts";

const useShared = "Use the Shared Model";
const ownEngine = "Start an Engine for This Window";

export async function askModelConflict(message: string): Promise<ConflictChoice> {
    const choice = await vscode.window.showWarningMessage(`CLaSp: ${message}`, useShared, ownEngine);
    return choice === ownEngine ? "own" : "shared";
}
