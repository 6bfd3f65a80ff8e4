// Wording for the "why no suggestion?" view, kept apart from `vscode` for unit tests.
import type { RequestRecord } from "../completion/requestLog.ts";

export interface BlockerInputs {
    inlineSuggestEnabled: boolean;
    paused: boolean;
    languageId?: string;
    languageEnabled: boolean;
    engineState: string;
}

/** Conditions that stop every suggestion, worst first. */
export function explainBlockers(inputs: BlockerInputs): string[] {
    const blockers: string[] = [];
    if (!inputs.inlineSuggestEnabled) blockers.push('VS Code\'s "editor.inlineSuggest.enabled" is off: no extension can show ghost text.');
    if (inputs.engineState !== "ready") blockers.push(`The engine is ${inputs.engineState}: suggestions start once the model is loaded.`);
    if (inputs.paused) blockers.push("Completions are paused.");
    if (inputs.languageId && !inputs.languageEnabled) blockers.push(`Completions are off for ${inputs.languageId} (clasp.enable).`);
    return blockers;
}

const outcomeIcons: Record<RequestRecord["outcome"], string> = {
    shown: "$(check)",
    cached: "$(zap)",
    filtered: "$(filter)",
    empty: "$(circle-outline)",
    cancelled: "$(close)",
    error: "$(error)",
    paused: "$(debug-pause)",
    languageDisabled: "$(circle-slash)",
    engineNotReady: "$(sync)",
};

export function formatRecord(record: RequestRecord): { label: string; description: string; detail: string } {
    const where = `${baseName(record.file)}:${record.line + 1}:${record.character + 1}`;
    return {
        label: `${outcomeIcons[record.outcome]} ${record.outcome}`,
        description: `${where} · ${record.latencyMs} ms`,
        detail: record.preview ? `${record.detail} — "${record.preview.split("\n")[0]}"` : record.detail,
    };
}

function baseName(path: string): string {
    return path.slice(Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\")) + 1);
}
