// Activation wiring only: connect to the shared engine, create the completion service and the UI pieces,
// connect their events, and register commands. Behaviour lives in src/completion and src/ui.
import * as vscode from "vscode";
import { askModelConflict } from "./client/modelConflictPrompt.ts";
import { SharedEngine } from "./client/sharedEngine.ts";
import type { Config } from "./config.ts";
import { readConfig } from "./config.ts";
import { CompletionService } from "./completion/completionService.ts";
import { ClaspInlineProvider } from "./completion/inlineProvider.ts";
import { isLanguageEnabled } from "./completion/languageFilter.ts";
import { RequestLog, type RequestRecord } from "./completion/requestLog.ts";
import { timedOutInPrefill } from "./completion/requestTiming.ts";
import { registerCommands } from "./ui/commands.ts";
import { warnIfInlineSuggestDisabled } from "./ui/diagnostics.ts";
import { ModelManager } from "./ui/modelManager.ts";
import { SettingsPanel } from "./ui/settingsPanel.ts";
import { StatsHistory } from "./ui/statsHistory.ts";
import { StatusBar } from "./ui/statusBar.ts";
import { openWalkthroughOnce } from "./ui/walkthrough.ts";

/** Settings whose change needs the model reloaded (the rest apply live). */
const reloadKeys = ["clasp.model", "clasp.gpu", "clasp.contextSize", "clasp.threads"];

export function activate(context: vscode.ExtensionContext) {
    const output = vscode.window.createOutputChannel("CLaSp Complete", { log: true });
    const log = (line: string) => output.info(line);
    const readSettings = () => readConfig(vscode.workspace.getConfiguration("clasp"));
    let config: Config = readSettings();

    // One engine for every window of this version (src/engine/service/); this window connects,
    // or starts it when it is the first.
    const engine = new SharedEngine({
        enginePath: context.asAbsolutePath("dist/engine.mjs"),
        version: String(context.extension.packageJSON.version),
        clientName: `window ${process.pid} (${vscode.workspace.name ?? "no folder"})`,
        idleExitMs: config.engine.idleExitMinutes * 60_000,
        onModelConflict: askModelConflict,
        log,
    });
    engine.setFocused(vscode.window.state.focused);
    const statusBar = new StatusBar();
    // The engine's state so far ("starting"): its first status events fired before anyone listened.
    statusBar.update({ engineState: engine.state });
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

    // A request that ran out of time in a cold prefill showed nothing, but left the KV cache warm:
    // ask once more if the cursor is still there (once per spot, so a slow machine cannot loop).
    let askedAgainAt = "";
    const askAgainAfterColdTimeout = (record: RequestRecord) => {
        if (record.outcome !== "empty" || !timedOutInPrefill(record.detail)) return;
        const spot = `${record.file}:${record.line}:${record.character}`;
        const editor = vscode.window.activeTextEditor;
        const cursor = editor?.selection.active;
        if (spot === askedAgainAt || !cursor || cursor.line !== record.line || cursor.character !== record.character) return;
        askedAgainAt = spot;
        void vscode.commands.executeCommand("editor.action.inlineSuggest.trigger");
    };

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
        vscode.window.onDidChangeWindowState((state) => engine.setFocused(state.focused)),
        disposable(engine.on("status", (status) => {
            statusBar.update({ engineState: status.state, engineError: status.error, ...(status.model ? { model: status.model } : {}) });
            if (status.state !== "ready") service.cache.clear();
            // The last keystroke met an engine that was not ready, and nothing asked since: ask again
            // now rather than at the next keystroke (the user typed while the model loaded).
            else if (requestLog.recent()[0]?.outcome === "engineNotReady") void vscode.commands.executeCommand("editor.action.inlineSuggest.trigger");
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
            askAgainAfterColdTimeout(record);
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
        vscode.workspace.onDidChangeTextDocument((event) => provider.noteEdited(event)),
        vscode.workspace.onDidCloseTextDocument((document) => provider.forgetDocument(document)),
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

    context.subscriptions.push(
        ...registerCommands({ extension: context, engine, service, provider, panel, models, statusBar, history, requestLog, output, config: () => config }),
    );

    if (vscode.window.activeTextEditor) provider.noteEditorUsed(vscode.window.activeTextEditor.document);
    refreshEditorState();
    void models.ensureLoaded();
    void warnIfInlineSuggestDisabled();
    void openWalkthroughOnce(context);
}

export function deactivate() {}

function disposable(remove: () => void): vscode.Disposable {
    return { dispose: remove };
}
