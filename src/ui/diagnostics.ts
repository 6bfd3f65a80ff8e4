// "Why no suggestion?": the last requests and what became of them, plus the checks for the
// common silent failures (inline suggestions off in VS Code, language off, paused, no model).
import * as vscode from "vscode";
import type { Config } from "../config.ts";
import type { ModelInfo } from "../engine/protocol.ts";
import { isLanguageEnabled } from "../completion/languageFilter.ts";
import type { RequestLog } from "../completion/requestLog.ts";
import { outcomeExplanations } from "../completion/requestLog.ts";
import { explainBlockers, formatRecord } from "./diagnosticsText.ts";
import { BUILD_BACKEND_COMMAND, layerSkipUnavailable } from "./layerSkipText.ts";

/** `model`: the loaded model, for what this install's binary can and cannot do with it. */
export async function showWhyNoSuggestion(log: RequestLog, config: Config, engineState: string, model?: ModelInfo): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    const blockers = explainBlockers({
        inlineSuggestEnabled: vscode.workspace.getConfiguration("editor", editor?.document).get("inlineSuggest.enabled", true),
        paused: config.paused,
        languageId: editor?.document.languageId,
        languageEnabled: editor ? isLanguageEnabled(config.enable, editor.document.languageId) : true,
        engineState,
    });
    type Item = vscode.QuickPickItem & { record?: (typeof records)[number]; command?: string };
    const records = log.recent();
    const layerSkip = layerSkipUnavailable(model);
    const items: Item[] = [
        ...blockers.map((b) => ({ label: `$(warning) ${b}` })),
        ...(layerSkip ? [{ label: "$(info) Layer skip is unavailable in this install", detail: layerSkip, command: BUILD_BACKEND_COMMAND }] : []),
        { label: "Recent requests", kind: vscode.QuickPickItemKind.Separator },
        ...records.map((record) => {
            const line = formatRecord(record);
            return { label: line.label, description: line.description, detail: line.detail, record };
        }),
    ];
    if (records.length === 0) items.push({ label: "No completion requests yet: type in an editor, or run CLaSp: Trigger Suggestion." });
    const picked = await vscode.window.showQuickPick(items, { title: "CLaSp: Why no suggestion?", matchOnDetail: true });
    if (picked?.command) await vscode.commands.executeCommand(picked.command);
    if (picked?.record) {
        const r = picked.record;
        const body = [
            `# ${outcomeExplanations[r.outcome]}`,
            "",
            `- File: ${r.file}:${r.line + 1}:${r.character + 1} (${r.languageId})`,
            `- When: ${new Date(r.at).toLocaleTimeString()}, took ${r.latencyMs} ms`,
            `- Detail: ${r.detail}`,
            ...(r.preview ? ["", "```", r.preview, "```"] : []),
        ].join("\n");
        const doc = await vscode.workspace.openTextDocument({ language: "markdown", content: body });
        await vscode.commands.executeCommand("markdown.showPreview", doc.uri).then(undefined, () => vscode.window.showTextDocument(doc));
    }
}

/** Ghost text cannot appear at all with VS Code's inline suggestions off: say so once, with the fix. */
export async function warnIfInlineSuggestDisabled(): Promise<void> {
    const editorSettings = vscode.workspace.getConfiguration("editor");
    if (editorSettings.get("inlineSuggest.enabled", true)) return;
    const choice = await vscode.window.showWarningMessage(
        'CLaSp: VS Code\'s "editor.inlineSuggest.enabled" is off, so no suggestion can be shown.',
        "Turn It On",
    );
    if (choice) await editorSettings.update("inlineSuggest.enabled", true, vscode.ConfigurationTarget.Global);
}
