// Every command the extension registers, by name, over the objects activation created.
import * as vscode from "vscode";
import type { EngineClient } from "../client/engineClient.ts";
import type { CompletionService } from "../completion/completionService.ts";
import type { ClaspInlineProvider } from "../completion/inlineProvider.ts";
import { acceptedCommand } from "../completion/inlineProvider.ts";
import { toggleLanguage } from "../completion/languageFilter.ts";
import type { RequestLog } from "../completion/requestLog.ts";
import type { Config } from "../config.ts";
import { buildAcceleratedBackend } from "./buildBackend.ts";
import { showWhyNoSuggestion } from "./diagnostics.ts";
import { runGenerate } from "./generateCommand.ts";
import { showMenu } from "./menu.ts";
import type { ModelManager } from "./modelManager.ts";
import type { SettingsPanel } from "./settingsPanel.ts";
import type { StatsHistory } from "./statsHistory.ts";
import { showStats } from "./statsView.ts";
import { BUILD_BACKEND_COMMAND } from "./layerSkipText.ts";
import type { StatusBar } from "./statusBar.ts";
import { writeSetting } from "./writeSetting.ts";

export interface CommandContext {
    extension: vscode.ExtensionContext;
    engine: EngineClient;
    service: CompletionService;
    provider: ClaspInlineProvider;
    panel: SettingsPanel;
    models: ModelManager;
    statusBar: StatusBar;
    history: StatsHistory;
    requestLog: RequestLog;
    output: vscode.LogOutputChannel;
    config(): Config;
}

export function registerCommands(ctx: CommandContext): vscode.Disposable[] {
    const { engine, service, provider, panel, models, statusBar, history, requestLog, output } = ctx;
    const commands: Record<string, (...args: unknown[]) => unknown> = {
        "clasp.showMenu": () => showMenu(ctx.config(), statusBar.current.model?.backend),
        "clasp.togglePause": () => writeSetting("paused", !ctx.config().paused),
        "clasp.toggleLanguage": () => {
            const languageId = vscode.window.activeTextEditor?.document.languageId;
            if (languageId) return writeSetting("enable", toggleLanguage(ctx.config().enable, languageId));
        },
        "clasp.openSettings": () => panel.show(),
        "clasp.selectModel": () => models.selectModel(),
        "clasp.downloadModel": (uri?: unknown) => models.downloadModel(typeof uri === "string" ? uri : undefined),
        "clasp.selectBackend": () => models.selectBackend(),
        [BUILD_BACKEND_COMMAND]: () =>
            buildAcceleratedBackend({
                extension: ctx.extension,
                gpuSetting: () => ctx.config().gpu,
                log: (line) => output.info(line),
                reloadEngine: async () => {
                    service.cancelAll();
                    await engine.restart();
                    await models.ensureLoaded();
                    return models.loaded;
                },
            }),
        "clasp.showStats": () => showStats(history, statusBar.current.model, service.acceptance.current),
        "clasp.whyNoSuggestion": () => showWhyNoSuggestion(requestLog, ctx.config(), engine.state, statusBar.current.model),
        "clasp.triggerSuggestion": () => provider.trigger(),
        "clasp.acceptWord": () => vscode.commands.executeCommand("editor.action.inlineSuggest.acceptNextWord"),
        "clasp.acceptLine": () => vscode.commands.executeCommand("editor.action.inlineSuggest.acceptNextLine"),
        "clasp.generate": (args?: unknown) =>
            runGenerate(
                { engine: () => engine, maxTokens: () => Math.max(256, ctx.config().completion.maxTokens), log: (line) => output.info(line) },
                generateArgs(args),
            ),
        "clasp.restartEngine": async () => {
            service.cancelAll();
            // The engine process brings back its last model itself; load only if it had none.
            await engine.restart();
            if (engine.state !== "ready") await models.ensureLoaded();
        },
        "clasp.showLog": () => output.show(),
        [acceptedCommand]: (chars?: unknown) => {
            service.acceptance.noteAccepted(typeof chars === "number" ? chars : 0);
            statusBar.update({ acceptance: service.acceptance.current });
        },
        // For integration tests: a snapshot of what the user would see.
        "clasp.debug.state": () => ({
            // A model that failed to load or download is an error even if the engine process is fine.
            engineState: statusBar.current.modelPhase?.kind === "error" ? "error" : engine.state,
            lastCompletion: service.lastCompletion,
            lastWarm: service.lastWarm,
            statusBarText: statusBar.text,
            settingsPanelOpen: panel.isOpen,
        }),
    };
    return Object.entries(commands).map(([name, handler]) => vscode.commands.registerCommand(name, handler));
}

/** `clasp.generate` may be given `{ instruction }` (a keybinding's args, a test) to skip the input box. */
function generateArgs(args: unknown): { instruction?: string } | undefined {
    const instruction = (args as { instruction?: unknown } | undefined)?.instruction;
    return typeof instruction === "string" ? { instruction } : undefined;
}
