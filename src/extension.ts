// Activation wiring only: create the engine process, the completion service and the UI pieces,
// connect their events, and register commands. Behaviour lives in src/completion and src/ui.
import * as vscode from "vscode";
import type { EngineClient } from "./client/engineClient.ts";
import { startEngineProcess } from "./client/engineProcess.ts";
import type { Config } from "./config.ts";
import { readConfig } from "./config.ts";
import { CompletionService } from "./completion/completionService.ts";
import { acceptedCommand, ClaspInlineProvider } from "./completion/inlineProvider.ts";
import { isLanguageEnabled, toggleLanguage } from "./completion/languageFilter.ts";
import { RequestLog } from "./completion/requestLog.ts";
import { showWhyNoSuggestion, warnIfInlineSuggestDisabled } from "./ui/diagnostics.ts";
import { runGenerate } from "./ui/generateCommand.ts";
import { showMenu } from "./ui/menu.ts";
import { ModelManager } from "./ui/modelManager.ts";
import { SettingsPanel } from "./ui/settingsPanel.ts";
import { StatsHistory } from "./ui/statsHistory.ts";
import { showStats } from "./ui/statsView.ts";
import { StatusBar } from "./ui/statusBar.ts";
import { writeSetting } from "./ui/writeSetting.ts";

/** Settings whose change needs the model reloaded (the rest apply live). */
const reloadKeys = ["clasp.model", "clasp.gpu", "clasp.contextSize", "clasp.threads"];

export function activate(context: vscode.ExtensionContext) {
    const output = vscode.window.createOutputChannel("CLaSp Complete", { log: true });
    const log = (line: string) => output.info(line);
    const readSettings = () => readConfig(vscode.workspace.getConfiguration("clasp"));
    let config: Config = readSettings();

    const engine: EngineClient = startEngineProcess({ enginePath: context.asAbsolutePath("dist/engine.mjs"), log });
    const statusBar = new StatusBar();
    const requestLog = new RequestLog();
    const history = new StatsHistory();
    const service = new CompletionService({
        engine: () => engine,
        config: () => config,
        log: requestLog,
        onBusy: (busy) => statusBar.update({ busy }),
    });
    const provider = new ClaspInlineProvider(service);
    const panel = new SettingsPanel({
        extensionUri: context.extensionUri,
        config: () => config,
        history: () => history.series(),
        statusText: () => statusBar.text,
        log,
    });
    const models = new ModelManager({
        context,
        engine: () => engine,
        config: () => config,
        log,
        onPhase: (modelPhase) => statusBar.update({ modelPhase }),
        onModel: (model) => statusBar.update({ model }),
    });

    const refreshEditorState = () => {
        const languageId = vscode.window.activeTextEditor?.document.languageId;
        statusBar.update({
            paused: config.paused,
            disabledLanguage: languageId && !isLanguageEnabled(config.enable, languageId) ? languageId : undefined,
        });
        panel.statusChanged();
    };

    context.subscriptions.push(
        output,
        statusBar,
        panel,
        { dispose: () => engine.dispose() },
        { dispose: () => service.cancelAll() },
        vscode.languages.registerInlineCompletionItemProvider({ pattern: "**" }, provider),
        disposable(engine.on("status", (status) => {
            statusBar.update({ engineState: status.state, engineError: status.error, ...(status.model ? { model: status.model } : {}) });
            if (status.state !== "ready") service.cache.clear();
            else if (vscode.window.activeTextEditor) provider.warm(vscode.window.activeTextEditor);
            panel.statusChanged();
        })),
        disposable(engine.on("stats", (stats) => {
            history.add(stats, Date.now());
            statusBar.update({ stats });
            panel.statsChanged();
            panel.statusChanged();
        })),
        disposable(requestLog.onRecord((record) => {
            const line = `completion ${record.outcome} at ${record.file}:${record.line + 1}:${record.character + 1} in ${record.latencyMs} ms — ${record.detail}`;
            // Every keystroke cancels or re-serves something: keep those at debug level.
            if (record.outcome === "cancelled" || record.outcome === "cached") output.debug(line);
            else output.info(line);
            const shown = record.outcome === "shown" || record.outcome === "cached";
            statusBar.update({
                lastOutcome: record.outcome,
                acceptance: service.acceptance.current,
                ...(shown ? { lastLatencyMs: record.latencyMs } : {}),
            });
        })),
    );

    context.subscriptions.push(
        vscode.window.onDidChangeActiveTextEditor((editor) => {
            if (editor) {
                provider.noteEditorUsed(editor.document);
                provider.warm(editor);
            }
            refreshEditorState();
        }),
        vscode.workspace.onDidChangeConfiguration((event) => {
            if (!event.affectsConfiguration("clasp")) return;
            const previous = config;
            config = readSettings();
            if (config.paused && !previous.paused) service.cancelAll();
            if (reloadKeys.some((key) => event.affectsConfiguration(key))) {
                service.cancelAll();
                service.cache.clear();
                void models.ensureLoaded();
            } else if (event.affectsConfiguration("clasp.speculation")) {
                void engine.request("configure", config.speculation).catch((error: unknown) => log(`configure failed: ${String(error)}`));
            }
            refreshEditorState();
            panel.settingsChanged();
        }),
    );

    const commands: Record<string, (...args: unknown[]) => unknown> = {
        "clasp.showMenu": () => showMenu(config, statusBar.current.model?.backend),
        "clasp.togglePause": () => writeSetting("paused", !config.paused),
        "clasp.toggleLanguage": () => {
            const languageId = vscode.window.activeTextEditor?.document.languageId;
            if (languageId) return writeSetting("enable", toggleLanguage(config.enable, languageId));
        },
        "clasp.openSettings": () => panel.show(),
        "clasp.selectModel": () => models.selectModel(),
        "clasp.downloadModel": (uri?: unknown) => models.downloadModel(typeof uri === "string" ? uri : undefined),
        "clasp.selectBackend": () => models.selectBackend(),
        "clasp.showStats": () => showStats(history, statusBar.current.model, service.acceptance.current),
        "clasp.whyNoSuggestion": () => showWhyNoSuggestion(requestLog, config, engine.state),
        "clasp.triggerSuggestion": () => provider.trigger(),
        "clasp.acceptWord": () => vscode.commands.executeCommand("editor.action.inlineSuggest.acceptNextWord"),
        "clasp.acceptLine": () => vscode.commands.executeCommand("editor.action.inlineSuggest.acceptNextLine"),
        "clasp.generate": (args?: unknown) =>
            runGenerate({ engine: () => engine, maxTokens: () => Math.max(256, config.completion.maxTokens), log }, generateArgs(args)),
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
            statusBarText: statusBar.text,
            settingsPanelOpen: panel.isOpen,
        }),
    };
    for (const [name, handler] of Object.entries(commands)) context.subscriptions.push(vscode.commands.registerCommand(name, handler));

    if (vscode.window.activeTextEditor) provider.noteEditorUsed(vscode.window.activeTextEditor.document);
    refreshEditorState();
    void models.ensureLoaded();
    void warnIfInlineSuggestDisabled();
}

export function deactivate() {}

function generateArgs(args: unknown): { instruction?: string } | undefined {
    const instruction = (args as { instruction?: unknown } | undefined)?.instruction;
    return typeof instruction === "string" ? { instruction } : undefined;
}

function disposable(remove: () => void): vscode.Disposable {
    return { dispose: remove };
}
