// Shared steps for the integration tests. They talk to the extension only through its public
// surface: commands, settings and the `clasp.debug.state` snapshot.
import * as vscode from "vscode";
import { until } from "../../../scripts/vscode-test/poll.ts";

export const EXTENSION_ID = "clasp-complete.clasp-complete";

export interface DebugState {
    engineState: string;
    lastCompletion?: { text: string; stopReason: string };
    lastWarm?: { filePath: string; line: number; character: number };
    statusBarText: string;
    settingsPanelOpen: boolean;
}

export async function debugState(): Promise<DebugState> {
    const state = await vscode.commands.executeCommand<DebugState | undefined>("clasp.debug.state");
    if (state === undefined || typeof state !== "object") throw new Error(`clasp.debug.state returned ${String(state)}`);
    return state;
}

/** Polls `probe` until it returns a value other than undefined; fails naming `what` and the last state seen. */
export function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000, intervalMs = 200): Promise<T> {
    return until(what, probe, timeoutMs, intervalMs, async () => {
        try {
            return `last debug state ${JSON.stringify(await debugState())}`;
        } catch (error) {
            return `clasp.debug.state failed: ${String(error)}`;
        }
    });
}

/** Resolves with `promise`, or rejects naming `what` if it has not settled within `ms`. */
export function within<T>(what: string, promise: Thenable<T>, ms: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms);
        promise.then(
            (value) => (clearTimeout(timer), resolve(value)),
            (error: unknown) => (clearTimeout(timer), reject(error)),
        );
    });
}

export function delay(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function activateExtension(): Promise<void> {
    const extension = vscode.extensions.getExtension(EXTENSION_ID);
    if (!extension) throw new Error(`extension ${EXTENSION_ID} is not loaded`);
    await extension.activate();
}

/** The usual `before` of a test that needs a loaded model. */
export async function activateAndWaitForReady(): Promise<void> {
    await activateExtension();
    await waitForEngineState("ready");
}

export function waitForEngineState(expected: string, timeoutMs = 90_000): Promise<DebugState> {
    return waitFor(`engine state "${expected}"`, async () => {
        const state = await debugState();
        return state.engineState === expected ? state : undefined;
    }, timeoutMs);
}

/** Marks where the cursor goes in the text given to `openEditor`. */
export const CURSOR = "‸";

/**
 * Opens a new workspace file holding `textWithCursor` minus the CURSOR mark, with the cursor at
 * the mark. Real files, not untitled ones: VS Code can hand back a just-closed untitled document
 * with its old text.
 */
export async function openEditor(textWithCursor: string, extension = "ts"): Promise<vscode.TextEditor> {
    const offset = textWithCursor.indexOf(CURSOR);
    if (offset < 0) throw new Error("openEditor needs a CURSOR mark in its text");
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (!folder) throw new Error("the test window has no workspace folder");
    // Each test file bundles its own copy of this module, so a counter alone would repeat names.
    const unique = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    const uri = vscode.Uri.joinPath(folder.uri, `it-${unique}.${extension}`);
    await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(textWithCursor.replace(CURSOR, "")));
    const document = await vscode.workspace.openTextDocument(uri);
    const editor = await vscode.window.showTextDocument(document);
    const position = document.positionAt(offset);
    editor.selection = new vscode.Selection(position, position);
    return editor;
}

export function openEditorAtEnd(content: string, extension = "ts"): Promise<vscode.TextEditor> {
    return openEditor(content + CURSOR, extension);
}

/**
 * Asks for an inline suggestion with `triggerCommand` and accepts it, the way Tab does, until the
 * document changes. Returns the inserted text ("" when nothing was accepted within the time).
 */
export async function triggerAndAccept(
    editor: vscode.TextEditor,
    timeoutMs = 30_000,
    triggerCommand = "editor.action.inlineSuggest.trigger",
): Promise<string> {
    const before = editor.document.getText();
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        await vscode.commands.executeCommand(triggerCommand);
        await delay(300);
        await vscode.commands.executeCommand("editor.action.inlineSuggest.commit");
        const after = editor.document.getText();
        if (after !== before) return insertedText(before, after);
    }
    return "";
}

/** The text added to `before` to give `after`, assuming one insertion. */
export function insertedText(before: string, after: string): string {
    let start = 0;
    while (start < before.length && before[start] === after[start]) start++;
    let tail = 0;
    while (tail < before.length - start && before[before.length - 1 - tail] === after[after.length - 1 - tail]) tail++;
    return after.slice(start, after.length - tail);
}

/** Reverts and closes every editor, so no "save changes?" dialog can block the next test. */
export async function closeAllEditors(): Promise<void> {
    for (let i = 0; i < 50 && vscode.window.tabGroups.all.some((group) => group.tabs.length > 0); i++) {
        await vscode.commands.executeCommand("workbench.action.revertAndCloseActiveEditor");
    }
}
