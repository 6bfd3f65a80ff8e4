import * as assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as vscode from "vscode";
import { activateAndWaitForReady, debugState, waitForEngineState } from "./helpers.ts";

describe("a corrupt model file", () => {
    let errorMessages: string[] = [];
    let restoreShowError: (() => void) | undefined;

    before(async () => {
        await activateAndWaitForReady();
        // The extension shares this API object (tests load from inside its folder), so a spy on
        // showErrorMessage sees the notification the user would get.
        const original = vscode.window.showErrorMessage;
        (vscode.window as { showErrorMessage: unknown }).showErrorMessage = (message: string, ...rest: unknown[]) => {
            errorMessages.push(message);
            return (original as (...args: unknown[]) => unknown).call(vscode.window, message, ...rest);
        };
        restoreShowError = () => ((vscode.window as { showErrorMessage: unknown }).showErrorMessage = original);
    });

    after(async () => {
        restoreShowError?.();
        await vscode.workspace.getConfiguration("clasp").update("model", process.env.CLASP_IT_MODEL, vscode.ConfigurationTarget.Global);
        await waitForEngineState("ready");
    });

    it("puts the engine in an error state with a notification, and the extension keeps answering", async () => {
        const corrupt = path.join(os.tmpdir(), `clasp-corrupt-${process.pid}.gguf`);
        writeFileSync(corrupt, Buffer.from("GGUF this is not really a model file".repeat(64)));
        errorMessages = [];
        await vscode.workspace.getConfiguration("clasp").update("model", corrupt, vscode.ConfigurationTarget.Global);

        const state = await waitForEngineState("error", 60_000);
        assert.equal(state.engineState, "error");
        assert.ok(errorMessages.length > 0, "no error notification was shown");
        // Still alive: the command round trip works after the failure.
        assert.equal(typeof (await debugState()).statusBarText, "string");
    });

    it("recovers when the model setting is fixed", async () => {
        await vscode.workspace.getConfiguration("clasp").update("model", process.env.CLASP_IT_MODEL, vscode.ConfigurationTarget.Global);
        const state = await waitForEngineState("ready");
        assert.equal(state.engineState, "ready");
    });
});
