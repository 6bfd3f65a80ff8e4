// The quick pick behind the status bar item: every action a user needs in the first minute.
import * as vscode from "vscode";
import type { Config } from "../config.ts";
import { isLanguageEnabled } from "../completion/languageFilter.ts";

/** `backend`: what the loaded model runs on (so "auto" can say what it picked). */
export async function showMenu(config: Config, backend?: string): Promise<void> {
    const language = vscode.window.activeTextEditor?.document.languageId;
    const items: (vscode.QuickPickItem & { command?: string })[] = [
        {
            label: config.paused ? "$(debug-start) Resume completions" : "$(debug-pause) Pause completions",
            command: "clasp.togglePause",
        },
    ];
    if (language) {
        const on = isLanguageEnabled(config.enable, language);
        items.push({
            label: on ? `$(circle-slash) Turn off for ${language}` : `$(check) Turn on for ${language}`,
            command: "clasp.toggleLanguage",
        });
    }
    items.push(
        { label: "$(settings-gear) Settings panel", description: "CLaSp knobs and live chart", command: "clasp.openSettings" },
        { label: "$(file-binary) Select model…", description: config.model || "default model", command: "clasp.selectModel" },
        { label: "$(cloud-download) Download model…", command: "clasp.downloadModel" },
        {
            label: "$(chip) Backend…",
            description: config.gpu === "auto" && backend ? `auto (using ${backend})` : config.gpu,
            command: "clasp.selectBackend",
        },
        { label: "$(graph) Show stats", command: "clasp.showStats" },
        { label: "$(question) Why no suggestion?", command: "clasp.whyNoSuggestion" },
        { label: "$(sparkle) Generate…", command: "clasp.generate" },
        { label: "$(debug-restart) Restart engine", command: "clasp.restartEngine" },
        { label: "$(output) Show log", command: "clasp.showLog" },
    );
    const picked = await vscode.window.showQuickPick(items, { title: "CLaSp Complete" });
    if (picked?.command) await vscode.commands.executeCommand(picked.command);
}
