// "CLaSp: Generate": asks for an instruction (prefilled from the selection or the comment under
// the cursor), then streams the engine's output into the editor with a cancellable progress
// notification. All edits share one undo step; typing elsewhere in the document cancels.
import * as vscode from "vscode";
import type { EngineClient } from "../client/engineClient.ts";
import { buildGeneratePrompt, commentText } from "../completion/generatePrompt.ts";
import { applyStopRules } from "../completion/stopRules.ts";

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

async function streamInto(editor: vscode.TextEditor, at: vscode.Position, lead: string, prompt: string, deps: GenerateDeps): Promise<void> {
    const doc = editor.document;
    const controller = new AbortController();
    const startOffset = doc.offsetAt(at);
    let inserted = "";
    let applying = false;
    let firstEdit = true;
    let queue = Promise.resolve();

    const append = (text: string) => {
        queue = queue.then(async () => {
            if (controller.signal.aborted && text !== lead) return;
            applying = true;
            const end = doc.positionAt(startOffset + inserted.length);
            const ok = await editor.edit((b) => b.insert(end, text), { undoStopBefore: firstEdit, undoStopAfter: false });
            applying = false;
            firstEdit = false;
            if (ok) inserted += text;
            else controller.abort();
        });
        return queue;
    };
    const foreignEdits = vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document === doc && !applying && e.contentChanges.length > 0) controller.abort();
    });

    try {
        if (lead) await append(lead);
        await vscode.window.withProgress(
            { location: vscode.ProgressLocation.Notification, title: "CLaSp: generating", cancellable: true },
            async (progress, token) => {
                token.onCancellationRequested(() => controller.abort());
                let chunks = 0;
                try {
                    const result = await deps.engine().request(
                        "generate",
                        { prompt, maxTokens: deps.maxTokens() },
                        {
                            signal: controller.signal,
                            onProgress: (payload) => {
                                if (!("text" in payload) || payload.text.length === 0) return;
                                void append(payload.text);
                                progress.report({ message: `${++chunks} chunks` });
                            },
                        },
                    );
                    deps.log(`Generate: ${result.generatedTokens} tokens, ${result.timings.tokensPerSecond.toFixed(1)} tok/s, stop ${result.stopReason}`);
                } catch (error) {
                    if (!controller.signal.aborted) throw error;
                }
            },
        );
        await queue;
        await tidyUp(editor, startOffset, lead, () => inserted, (busy) => (applying = busy));
    } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        deps.log(`Generate failed: ${message}`);
        void vscode.window.showErrorMessage(`CLaSp: generation failed: ${message}`);
    } finally {
        foreignEdits.dispose();
    }
}

/** Cuts what the stop rules would (e.g. code past the end of the block), in the same undo step. */
async function tidyUp(
    editor: vscode.TextEditor,
    startOffset: number,
    lead: string,
    inserted: () => string,
    setApplying: (busy: boolean) => void,
): Promise<void> {
    const doc = editor.document;
    const body = inserted().slice(lead.length);
    const bodyStart = doc.positionAt(startOffset + lead.length);
    const linePrefix = doc.lineAt(bodyStart.line).text.slice(0, bodyStart.character);
    const { text } = applyStopRules(body, { linePrefix, lineSuffix: "", nextLines: [], maxLines: 1000, singleLine: false });
    const range = new vscode.Range(doc.positionAt(startOffset), doc.positionAt(startOffset + inserted().length));
    const final = text.length > 0 ? lead + text : "";
    setApplying(true);
    // Even with nothing to change, this edit closes the undo step the streamed edits opened.
    await editor.edit((b) => {
        if (final !== inserted()) b.replace(range, final);
    }, { undoStopBefore: false, undoStopAfter: true });
    setApplying(false);
}
