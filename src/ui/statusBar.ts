// The one status bar item: state, live acceptance and speedup; click opens the CLaSp menu.
import * as vscode from "vscode";
import { layerSkipUnavailable } from "./layerSkipText.ts";
import type { StatusInputs } from "./statusText.ts";
import { presentStatus, toStatusView } from "./statusText.ts";

export class StatusBar implements vscode.Disposable {
    private readonly item = vscode.window.createStatusBarItem("clasp.status", vscode.StatusBarAlignment.Right, 1000);
    private inputs: StatusInputs = { engineState: "stopped", paused: false, busy: false };

    constructor() {
        this.item.name = "CLaSp Complete";
        this.item.command = "clasp.showMenu";
        this.render();
        this.item.show();
    }

    get text(): string {
        return this.item.text;
    }

    get current(): Readonly<StatusInputs> {
        return this.inputs;
    }

    update(change: Partial<StatusInputs>): void {
        this.inputs = { ...this.inputs, ...change };
        this.render();
    }

    dispose(): void {
        this.item.dispose();
    }

    private render(): void {
        const presentation = presentStatus({ ...toStatusView(this.inputs), layerSkipNote: layerSkipUnavailable(this.inputs.model) });
        this.item.text = presentation.text;
        const tooltip = new vscode.MarkdownString(presentation.tooltip);
        tooltip.supportThemeIcons = true;
        this.item.tooltip = tooltip;
        this.item.backgroundColor = presentation.alarming ? new vscode.ThemeColor("statusBarItem.warningBackground") : undefined;
    }
}
