// "Show stats": a markdown preview of the current rolling stats and their recent history.
import * as vscode from "vscode";
import type { AcceptanceSnapshot } from "../completion/acceptanceStats.ts";
import type { ModelInfo } from "../engine/protocol.ts";
import type { StatsHistory } from "./statsHistory.ts";
import { statsReport } from "./statsReport.ts";

export async function showStats(history: StatsHistory, model: ModelInfo | undefined, acceptance: AcceptanceSnapshot): Promise<void> {
    const content = statsReport(history, model, Date.now(), acceptance);
    const doc = await vscode.workspace.openTextDocument({ language: "markdown", content });
    await vscode.commands.executeCommand("markdown.showPreview", doc.uri).then(undefined, () => vscode.window.showTextDocument(doc));
}
