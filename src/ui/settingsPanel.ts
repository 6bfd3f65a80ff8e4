// The "CLaSp Settings" webview: knobs for the CLaSp settings and a live acceptance/speedup chart.
// One panel at a time; assets come from media/ under a strict CSP (no inline code, nonce'd script).
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import * as vscode from "vscode";
import type { Config } from "../config.ts";
import { renderSettingsHtml } from "./settingsHtml.ts";
import type { StatsPoint } from "./statsHistory.ts";
import type { ToPanel } from "./settingsSync.ts";
import { isWriteNeeded, panelValues, settingWriteFor } from "./settingsSync.ts";
import { writeSetting } from "./writeSetting.ts";

export interface SettingsPanelDeps {
    extensionUri: vscode.Uri;
    config(): Config;
    history(): readonly StatsPoint[];
    statusText(): string;
    log(line: string): void;
}

export class SettingsPanel implements vscode.Disposable {
    private panel: vscode.WebviewPanel | undefined;

    constructor(private readonly deps: SettingsPanelDeps) {}

    get isOpen(): boolean {
        return this.panel !== undefined;
    }

    show(): void {
        if (this.panel) {
            this.panel.reveal();
            return;
        }
        const media = vscode.Uri.joinPath(this.deps.extensionUri, "media");
        const panel = vscode.window.createWebviewPanel("clasp.settings", "CLaSp Settings", vscode.ViewColumn.Active, {
            enableScripts: true,
            localResourceRoots: [media],
            retainContextWhenHidden: false,
        });
        this.panel = panel;
        panel.iconPath = vscode.Uri.joinPath(media, "icon.svg");
        panel.webview.html = this.html(panel.webview, media);
        panel.webview.onDidReceiveMessage((message: unknown) => void this.onMessage(message));
        panel.onDidDispose(() => {
            if (this.panel === panel) this.panel = undefined;
        });
    }

    /** Called when `clasp.*` settings change, so edits made elsewhere show up in the panel. */
    settingsChanged(): void {
        this.post({ type: "settings", values: panelValues(this.deps.config()) });
    }

    statsChanged(): void {
        this.post({ type: "stats", points: [...this.deps.history()] });
    }

    statusChanged(): void {
        this.post({ type: "status", text: this.deps.statusText() });
    }

    dispose(): void {
        this.panel?.dispose();
    }

    private post(message: ToPanel): void {
        void this.panel?.webview.postMessage(message);
    }

    private async onMessage(message: unknown): Promise<void> {
        if ((message as { type?: unknown })?.type === "ready") {
            this.settingsChanged();
            this.statsChanged();
            this.statusChanged();
            return;
        }
        const write = settingWriteFor(message);
        if ("error" in write) {
            this.deps.log(`Settings panel: ignored a message (${write.error})`);
            return;
        }
        if (!isWriteNeeded(this.deps.config(), write)) return;
        await writeSetting(write.key, write.value);
    }

    private html(webview: vscode.Webview, media: vscode.Uri): string {
        const template = readFileSync(vscode.Uri.joinPath(media, "settings.html").fsPath, "utf8");
        return renderSettingsHtml(template, {
            cspSource: webview.cspSource,
            nonce: randomBytes(16).toString("base64"),
            styleUri: webview.asWebviewUri(vscode.Uri.joinPath(media, "settings.css")).toString(),
            scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(media, "settings.js")).toString(),
        });
    }
}
