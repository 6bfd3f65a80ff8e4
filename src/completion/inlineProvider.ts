// VS Code's side of inline completion: converts documents, positions and the IntelliSense
// selection into the service's plain input, and its answer into an InlineCompletionItem.
import * as vscode from "vscode";
import type { CompletionInput, CompletionService, SelectedItem } from "./completionService.ts";
import type { OpenFile } from "./extraContext.ts";

const headLines = 400;
/** Internal (not in the palette): counts full accepts. */
export const acceptedCommand = "clasp.internal.accepted";
const manualWindowMs = 1000;

export class ClaspInlineProvider implements vscode.InlineCompletionItemProvider {
    /** When the manual-trigger command ran; the request VS Code makes right after it is ours. */
    private manualRequestedAt = Number.NEGATIVE_INFINITY;
    private readonly lastUsed = new Map<string, number>();
    /** Per document: the version its last edit made, and when (the debounce counts the quiet since). */
    private readonly lastEdit = new Map<string, { version: number; at: number }>();

    constructor(private readonly service: CompletionService) {}

    /** Remembers which documents were used recently (for extra context ordering). */
    noteEditorUsed(document: vscode.TextDocument): void {
        this.lastUsed.set(document.uri.toString(), Date.now());
    }

    /**
     * Called on every document change: a keystroke's time, for the version it made; and in the
     * active editor, a warm-up of the engine's cache for where the edit left the cursor.
     */
    noteEdited(event: vscode.TextDocumentChangeEvent): void {
        const document = event.document;
        if (event.contentChanges.length === 0) return;
        this.lastEdit.set(document.uri.toString(), { version: document.version, at: Date.now() });
        const editor = vscode.window.activeTextEditor;
        // One change is a keystroke, paste or completion accept (several: multi-cursor, replace all).
        if (editor?.document !== document || event.contentChanges.length !== 1 || !isCompletable(document)) return;
        // From the change itself: the editor's selection may not have moved yet when this event comes.
        const change = event.contentChanges[0]!;
        const cursor = document.positionAt(change.rangeOffset + change.text.length);
        this.service.warmAfterEdit(this.inputFor(document, cursor));
    }

    forgetDocument(document: vscode.TextDocument): void {
        this.lastEdit.delete(document.uri.toString());
        this.lastUsed.delete(document.uri.toString());
    }

    async trigger(): Promise<void> {
        this.manualRequestedAt = Date.now();
        await vscode.commands.executeCommand("editor.action.inlineSuggest.trigger");
    }

    async provideInlineCompletionItems(
        document: vscode.TextDocument,
        position: vscode.Position,
        context: vscode.InlineCompletionContext,
        token: vscode.CancellationToken,
    ): Promise<vscode.InlineCompletionItem[] | undefined> {
        // A stale flag (VS Code never asked, e.g. no editor) must not unpause a later keystroke.
        const ours = Date.now() - this.manualRequestedAt < manualWindowMs;
        this.manualRequestedAt = Number.NEGATIVE_INFINITY;
        const manual = ours || context.triggerKind === vscode.InlineCompletionTriggerKind.Invoke;
        const abort = new AbortController();
        const subscription = token.onCancellationRequested(() => abort.abort());
        try {
            const suggestion = await this.service.provide(
                { ...this.inputFor(document, position), manual, overridePause: ours, selected: selectedItemOf(context, position) },
                abort.signal,
            );
            if (!suggestion || token.isCancellationRequested) return undefined;
            const range = new vscode.Range(position.line, suggestion.replaceFromCharacter, position.line, position.character);
            // VS Code runs the item's command only when the whole suggestion is accepted.
            const accepted: vscode.Command = { title: "", command: acceptedCommand, arguments: [suggestion.insertText.length] };
            return [new vscode.InlineCompletionItem(suggestion.insertText, range, accepted)];
        } finally {
            subscription.dispose();
        }
    }

    /** Prefills the engine's KV cache for where this editor's cursor is (see CompletionService.warm). */
    warm(editor: vscode.TextEditor): void {
        if (!isCompletable(editor.document)) return;
        this.service.warm(this.inputFor(editor.document, editor.selection.active));
    }

    private inputFor(document: vscode.TextDocument, position: vscode.Position): CompletionInput {
        return {
            filePath: pathOf(document.uri),
            languageId: document.languageId,
            doc: { lineCount: document.lineCount, lineAt: (line) => document.lineAt(line).text },
            cursor: { line: position.line, character: position.character },
            documentVersion: document.version,
            editedAt: this.editedAt(document),
            manual: false,
            openFiles: () => this.openFiles(),
        };
    }

    private editedAt(document: vscode.TextDocument): number | undefined {
        const edit = this.lastEdit.get(document.uri.toString());
        return edit && edit.version === document.version ? edit.at : undefined;
    }

    /** Documents the user has open in editor tabs (not ones extensions opened in the background). */
    private openFiles(): OpenFile[] {
        const inTabs = new Set(
            vscode.window.tabGroups.all.flatMap((group) =>
                group.tabs.flatMap((tab) => (tab.input instanceof vscode.TabInputText ? [tab.input.uri.toString()] : [])),
            ),
        );
        return vscode.workspace.textDocuments
            .filter((d) => !d.isClosed && isCompletable(d) && inTabs.has(d.uri.toString()))
            .map((d) => ({
                path: pathOf(d.uri),
                languageId: d.languageId,
                // Only a file's head is ever used, so big files are not copied on every request.
                text: d.getText(new vscode.Range(0, 0, Math.min(d.lineCount, headLines), 0)),
                lastUsed: this.lastUsed.get(d.uri.toString()) ?? 0,
            }));
    }
}

/** One spelling for both the current file and the open ones, so extra context can leave the current file out. */
function pathOf(uri: vscode.Uri): string {
    return uri.scheme === "file" ? uri.fsPath : uri.toString();
}

function isCompletable(document: vscode.TextDocument): boolean {
    return document.uri.scheme === "file" || document.uri.scheme === "untitled";
}

function selectedItemOf(context: vscode.InlineCompletionContext, position: vscode.Position): SelectedItem | undefined {
    const selected = context.selectedCompletionInfo;
    if (!selected || !selected.range.isSingleLine || selected.range.start.line !== position.line) return undefined;
    return { startCharacter: selected.range.start.character, text: selected.text };
}
