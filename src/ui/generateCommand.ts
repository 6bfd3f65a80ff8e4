// "CLaSp: Generate": asks for an instruction (prefilled from the selection or the comment under
// the cursor), then streams the engine's output into the editor with a cancellable progress
// notification. All edits share one undo step; typing elsewhere in the document cancels.
import * as vscode from "vscode";
import type { EngineClient } from "../client/engineClient.ts";
import { buildGeneratePrompt, commentText } from "../completion/generatePrompt.ts";
import { applyStopRules } from "../text/stopRules.ts";

export interface GenerateDeps {
    engine(): EngineClient;
    maxTokens(): number;
    log(line: string): void;
}

/** `instruction` (from a command argument, e.g. a keybinding or a test) skips the input box. */
export async function runGenerate(deps: GenerateDeps, given?: { instruction?: string }): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (!editor) return void vscode.window.showInformationMessage("CLaSp: open an editor to generate into.");
    if (deps.engine().state !== "ready")
        return void vscode.window.showWarningMessage(`CLaSp: the engine is ${deps.engine().state}; try again once the model is loaded.`);
    const doc = editor.document;
    const selection = editor.selection;
    const selected = selection.isEmpty ? "" : doc.getText(selection).trim();
    const comment = selection.isEmpty ? commentText(doc.lineAt(selection.active.line).text, doc.languageId) : undefined;
    const detected = selected || comment || "";

    const instruction = given?.instruction ?? await vscode.window.showInputBox({
        title: "CLaSp: Generate",
        prompt: "What should be written here?",
        value: detected,
        placeHolder: "e.g. a function that parses ISO dates",
    });
    if (!instruction?.trim()) return;

    // A blank cursor line is filled in place; otherwise the code goes on a new line after the
    // selection, the comment or the cursor's line, with that line's indentation.
    const fromCode = detected !== "" && instruction.trim() === detected;
    const anchorLine = doc.lineAt(selection.isEmpty ? selection.active.line : selection.end.line);
    const indent = anchorLine.text.slice(0, anchorLine.firstNonWhitespaceCharacterIndex);
    const blankLine = selection.isEmpty && anchorLine.isEmptyOrWhitespace;
    const insertAt = anchorLine.range.end;
    const before = doc.getText(new vscode.Range(new vscode.Position(0, 0), blankLine ? anchorLine.range.start : insertAt));
    const prompt = buildGeneratePrompt({
        before,
        languageId: doc.languageId,
        instruction: instruction.trim(),
        instructionInCode: fromCode,
        indent: blankLine ? anchorLine.text : indent,
    });
    await streamInto(editor, insertAt, blankLine ? "" : `\n${indent}`, prompt, deps);
}

/**
 * Streams text into the document while the engine generates, then swaps the streamed text for the
 * final (stop-rule trimmed) text in one separate edit. Undo stops between streamed edits cannot be
 * ruled out (auto save, for one, closes the undo group), so the whole result is one undo step
 * only because it arrives in that last edit.
 */
async function streamInto(editor: vscode.TextEditor, at: vscode.Position, lead: string, prompt: string, deps: GenerateDeps): Promise<void> {
    const doc = editor.document;
    const controller = new AbortController();
    const startOffset = doc.offsetAt(at);
    /** Characters our edits added to the document (EOL normalisation can make this differ from the text sent). */
    let insertedLength = 0;
    let streamed = "";
    let pending = lead;
    let applying = false;
    let foreignEdit = false;
    let flushing: Promise<void> | undefined;

    // One edit at a time, each taking everything that arrived meanwhile.
    const drain = async () => {
        while (pending.length > 0 && !foreignEdit) {
            const text = pending;
            pending = "";
            const lengthBefore = documentLength(doc);
            applying = true;
            const end = doc.positionAt(startOffset + insertedLength);
            const ok = await editor.edit((b) => b.insert(end, text), { undoStopBefore: false, undoStopAfter: false });
            applying = false;
            if (!ok) {
                // The document changed under us between computing the position and applying.
                foreignEdit = true;
                controller.abort();
                return;
            }
            insertedLength += documentLength(doc) - lengthBefore;
            streamed += text;
        }
    };
    const flush = (): Promise<void> => {
        flushing ??= drain().finally(() => (flushing = undefined));
        return flushing;
    };
    const foreignEdits = vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document !== doc || applying || e.contentChanges.length === 0) return;
        foreignEdit = true;
        controller.abort();
    });

    let failure: string | undefined;
    try {
        await flush();
        await vscode.window.withProgress(
            { location: vscode.ProgressLocation.Notification, title: "CLaSp: generating", cancellable: true },
            async (progress, token) => {
                token.onCancellationRequested(() => controller.abort());
                let pieces = 0;
                const result = await deps.engine().request(
                    "generate",
                    { prompt, maxTokens: deps.maxTokens() },
                    {
                        signal: controller.signal,
                        onProgress: (payload) => {
                            if (!("text" in payload) || payload.text.length === 0 || controller.signal.aborted) return;
                            pending += payload.text;
                            void flush();
                            progress.report({ message: `${++pieces} pieces` });
                        },
                    },
                );
                deps.log(`Generate: ${result.generatedTokens} tokens, ${result.timings.tokensPerSecond.toFixed(1)} tok/s, stop ${result.stopReason}`);
            },
        );
    } catch (error) {
        // Cancelled (by the user or an edit) or failed: what streamed so far is still committed below.
        if (!controller.signal.aborted) failure = error instanceof Error ? error.message : String(error);
    }
    try {
        while (flushing) await flushing;
        // Text that arrived while the last edit was finishing.
        await flush();
        if (foreignEdit) {
            deps.log("Generate: stopped because the document was edited meanwhile; the streamed text stays as it is");
            return;
        }
        const text = finalText(doc, startOffset, lead, streamed);
        await commitAsOneStep(editor, startOffset, insertedLength, text, (busy) => (applying = busy));
        if (text.length === 0 && !failure) void vscode.window.showInformationMessage("CLaSp: the model produced nothing usable here.");
    } finally {
        foreignEdits.dispose();
        if (failure) {
            deps.log(`Generate failed: ${failure}`);
            void vscode.window.showErrorMessage(`CLaSp: generation failed: ${failure}`);
        }
    }
}

/** The document's length in characters without copying its text (this runs once per streamed piece). */
function documentLength(doc: vscode.TextDocument): number {
    return doc.offsetAt(doc.lineAt(doc.lineCount - 1).range.end);
}

/** The streamed text as the stop rules would keep it (e.g. nothing past the end of the block). */
function finalText(doc: vscode.TextDocument, startOffset: number, lead: string, streamed: string): string {
    const body = streamed.slice(lead.length);
    const start = doc.positionAt(startOffset);
    const linePrefix = lead.length > 0 ? lead.slice(lead.lastIndexOf("\n") + 1) : doc.lineAt(start.line).text.slice(0, start.character);
    const { text } = applyStopRules(body, { linePrefix, lineSuffix: "", nextLines: [], maxLines: 1000, singleLine: false });
    return text.length > 0 ? lead + text : "";
}

async function commitAsOneStep(
    editor: vscode.TextEditor,
    startOffset: number,
    streamedLength: number,
    text: string,
    setApplying: (busy: boolean) => void,
): Promise<void> {
    const doc = editor.document;
    const streamedRange = new vscode.Range(doc.positionAt(startOffset), doc.positionAt(startOffset + streamedLength));
    setApplying(true);
    try {
        // Taking the streamed text out joins whatever undo group the streaming left open…
        await editor.edit((b) => b.delete(streamedRange), { undoStopBefore: false, undoStopAfter: false });
        // …and the result goes in as an undo step of its own.
        if (text.length > 0)
            await editor.edit((b) => b.insert(doc.positionAt(startOffset), text), { undoStopBefore: true, undoStopAfter: true });
    } finally {
        setApplying(false);
    }
}
