// Gets the configured model into the engine: a local path is loaded as is; a URI is downloaded
// (with a cancellable progress notification) into global storage first. Also the "select model"
// and "backend" pickers. A newer load request supersedes an older one still in progress.
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute } from "node:path";
import * as vscode from "vscode";
import type { EngineClient } from "../client/engineClient.ts";
import type { Config } from "../config.ts";
import { gpuChoices } from "../config.ts";
import type { DownloadProgress, ModelInfo, ProgressPayload } from "../engine/protocol.ts";
import { defaultModelPreset, interpretModelSetting, isModelUri, modelPresets } from "./modelPresets.ts";
import type { ModelPhase } from "./statusText.ts";

const downloadsKey = "clasp.downloadedModels";

export interface ModelManagerDeps {
    context: vscode.ExtensionContext;
    engine(): EngineClient;
    config(): Config;
    log(line: string): void;
    onPhase(phase: ModelPhase | undefined): void;
    onModel(model: ModelInfo | undefined): void;
}

export class ModelManager {
    private generation = 0;
    private download: AbortController | undefined;
    private offeredDefault = false;
    loaded: ModelInfo | undefined;

    constructor(private readonly deps: ModelManagerDeps) {}

    /** Loads what `clasp.model` names. Resolves once loaded, or once it is clear it cannot be. */
    async ensureLoaded(): Promise<void> {
        const generation = ++this.generation;
        const config = this.deps.config();
        const request = interpretModelSetting(config.model, homedir());
        let path: string | undefined;
        if (request.kind === "path") {
            if (!isAbsolute(request.path)) return this.fail(`clasp.model must be an absolute path or a URI, not "${request.path}"`);
            if (!existsSync(request.path)) return this.fail(`Model file not found: ${request.path}`);
            path = request.path;
        } else {
            path = this.downloadedPath(request.uri);
            if (!path && request.kind === "default") {
                this.deps.onPhase({ kind: "noModel", reason: "No model yet: download the default model or select one." });
                void this.offerDefaultDownload();
                return;
            }
            path ??= await this.downloadWithProgress(request.uri);
            if (!path || generation !== this.generation) return;
        }
        await this.load(path, generation);
    }

    cancelDownload(): void {
        this.download?.abort();
    }

    /** File picker, URI box or preset; writes the machine-scoped `clasp.model` setting. */
    async selectModel(): Promise<void> {
        const current = this.deps.config().model;
        type Item = vscode.QuickPickItem & { action: () => Promise<string | undefined> };
        const items: Item[] = [
            { label: "$(folder-opened) Browse for a GGUF file…", action: () => this.pickFile() },
            { label: "$(link) Enter a model URI or path…", action: () => this.askUri(current) },
            { label: "Presets", kind: vscode.QuickPickItemKind.Separator, action: async () => undefined },
            ...modelPresets.map((preset) => ({
                label: preset.label,
                description: this.downloadedPath(preset.uri) ? "downloaded" : "download",
                detail: `${preset.detail} — ${preset.uri}`,
                action: async () => {
                    // Download first, so choosing a preset never leaves the setting pointing at nothing.
                    if (!this.downloadedPath(preset.uri) && !(await this.downloadWithProgress(preset.uri))) return undefined;
                    return preset === defaultModelPreset ? "" : preset.uri;
                },
            })),
        ];
        const picked = await vscode.window.showQuickPick(items, {
            title: "CLaSp: Select Model",
            placeHolder: current ? `Current: ${current}` : "Current: default model",
            matchOnDetail: true,
        });
        if (!picked) return;
        const value = await picked.action();
        if (value === undefined) return;
        // Machine scope: written to the user's settings, never the workspace's.
        await vscode.workspace.getConfiguration("clasp").update("model", value, vscode.ConfigurationTarget.Global);
        if (value === current) await this.ensureLoaded();
    }

    /** Downloads a model without selecting it (or the default one). */
    async downloadModel(uri?: string): Promise<void> {
        const target =
            uri ??
            (await vscode.window.showQuickPick(
                modelPresets.map((p) => ({ label: p.label, detail: p.uri, description: this.downloadedPath(p.uri) ? "downloaded" : "" })),
                { title: "CLaSp: Download Model" },
            ))?.detail;
        if (!target) return;
        const path = await this.downloadWithProgress(target);
        if (!path) return;
        const choice = await vscode.window.showInformationMessage(`Downloaded ${path}`, "Use This Model");
        if (choice)
            await vscode.workspace
                .getConfiguration("clasp")
                .update("model", target === defaultModelPreset.uri ? "" : target, vscode.ConfigurationTarget.Global);
    }

    async selectBackend(): Promise<void> {
        const detected = this.loaded?.backend;
        const current = this.deps.config().gpu;
        const picked = await vscode.window.showQuickPick(
            gpuChoices.map((gpu) => ({
                label: gpu,
                description: [gpu === current ? "current" : "", gpu === "auto" && detected ? `detected: ${detected}` : ""]
                    .filter(Boolean)
                    .join(" · "),
            })),
            { title: "CLaSp: Backend", placeHolder: "auto picks the best available (CUDA, Metal, Vulkan, then CPU)" },
        );
        if (picked) await vscode.workspace.getConfiguration("clasp").update("gpu", picked.label, vscode.ConfigurationTarget.Global);
    }

    private async load(path: string, generation: number): Promise<void> {
        const config = this.deps.config();
        this.deps.onPhase(undefined);
        this.deps.log(`Loading model ${path} (gpu: ${config.gpu})`);
        // Settings the engine refuses (e.g. layer skip without the CLaSp build) must not block loading.
        await this.deps
            .engine()
            .request("configure", config.speculation)
            .catch((error: unknown) => this.deps.log(`Speculation settings not applied: ${messageOf(error)}`));
        try {
            const info = await this.deps.engine().request("load", {
                modelPath: path,
                gpu: config.gpu,
                contextSize: config.contextSize,
                threads: config.threads > 0 ? config.threads : undefined,
            });
            if (generation !== this.generation) return;
            this.loaded = info;
            this.deps.onModel(info);
            this.deps.log(`Model ready: ${info.name}, ${info.layers} layers, backend ${info.backend}, FIM ${info.hasFim ? "yes" : "no"}`);
        } catch (error) {
            if (generation === this.generation) this.fail(`Cannot load ${path}: ${messageOf(error)}`);
        }
    }

    private fail(reason: string): void {
        this.loaded = undefined;
        this.deps.onModel(undefined);
        this.deps.onPhase({ kind: "error", reason });
        this.deps.log(reason);
        void vscode.window.showErrorMessage(`CLaSp: ${reason}`, "Select Model").then((choice) => {
            if (choice) void this.selectModel();
        });
    }

    private downloadedPath(uri: string): string | undefined {
        const known = this.deps.context.globalState.get<Record<string, string>>(downloadsKey, {});
        const path = known[uri];
        return path && existsSync(path) ? path : undefined;
    }

    private async offerDefaultDownload(): Promise<void> {
        if (this.offeredDefault) return;
        this.offeredDefault = true;
        const choice = await vscode.window.showInformationMessage(
            `CLaSp needs a model. Download the default, ${defaultModelPreset.label} (${defaultModelPreset.detail.split(" · ")[0]}), or select your own?`,
            "Download",
            "Select Model…",
        );
        if (choice === "Download") {
            const path = await this.downloadWithProgress(defaultModelPreset.uri);
            if (path) await this.ensureLoaded();
        } else if (choice) await this.selectModel();
    }

    /** Returns the downloaded file, or undefined when cancelled or failed (already reported). */
    private async downloadWithProgress(uri: string): Promise<string | undefined> {
        this.download?.abort();
        const controller = new AbortController();
        this.download = controller;
        const directory = vscode.Uri.joinPath(this.deps.context.globalStorageUri, "models").fsPath;
        this.deps.onPhase({ kind: "downloading" });
        this.deps.log(`Downloading ${uri} into ${directory}`);
        try {
            const { path } = await vscode.window.withProgress(
                { location: vscode.ProgressLocation.Notification, title: `CLaSp: downloading ${uri}`, cancellable: true },
                (progress, token) => {
                    token.onCancellationRequested(() => controller.abort());
                    let reported = 0;
                    return this.deps.engine().request(
                        "download",
                        { uri, directory },
                        {
                            signal: controller.signal,
                            onProgress: (payload: ProgressPayload) => {
                                if (!("downloadedBytes" in payload)) return;
                                const fraction = fractionOf(payload);
                                this.deps.onPhase({ kind: "downloading", fraction });
                                if (fraction === undefined) return;
                                progress.report({ increment: (fraction - reported) * 100, message: sizeMessage(payload) });
                                reported = fraction;
                            },
                        },
                    );
                },
            );
            const known = this.deps.context.globalState.get<Record<string, string>>(downloadsKey, {});
            await this.deps.context.globalState.update(downloadsKey, { ...known, [uri]: path });
            this.deps.log(`Downloaded ${uri} -> ${path}`);
            this.deps.onPhase(undefined);
            return path;
        } catch (error) {
            if (controller.signal.aborted) {
                this.deps.log(`Download of ${uri} cancelled (the partial file is kept and resumes next time)`);
                this.deps.onPhase({ kind: "noModel", reason: "Download cancelled." });
            } else this.fail(messageOf(error));
            return undefined;
        } finally {
            if (this.download === controller) this.download = undefined;
        }
    }

    private async pickFile(): Promise<string | undefined> {
        const picked = await vscode.window.showOpenDialog({
            title: "Select a GGUF model",
            canSelectMany: false,
            filters: { "GGUF models": ["gguf"], "All files": ["*"] },
        });
        return picked?.[0]?.fsPath;
    }

    private async askUri(current: string): Promise<string | undefined> {
        return vscode.window.showInputBox({
            title: "Model URI or path",
            prompt: "hf:owner/repo/file.gguf, https://…/model.gguf, or an absolute path",
            value: current,
            validateInput: (value) =>
                value.trim() === "" || isModelUri(value) || value.trim().startsWith("/") || value.trim().startsWith("~") || /^[a-z]:[\\/]/i.test(value.trim())
                    ? undefined
                    : "Enter a URI (hf:, https://) or an absolute path",
        });
    }
}

function fractionOf(progress: DownloadProgress): number | undefined {
    return progress.totalBytes > 0 ? Math.min(1, progress.downloadedBytes / progress.totalBytes) : undefined;
}

function sizeMessage(progress: DownloadProgress): string {
    const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);
    return `${mb(progress.downloadedBytes)} / ${mb(progress.totalBytes)} MB`;
}

function messageOf(error: unknown): string {
    return error instanceof Error ? error.message : String(error);
}
