// The `stockPlain` baseline: plain decoding of the same model and prompts on node-llama-cpp's stock
// prebuilt binary, in a child process (bench/stockPlainWorker.ts), interleaved with the other modes.
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Prompt } from "../src/engine/promptLayout.ts";
import type { PlainRun } from "./plainRun.ts";

export interface StockPlain {
    run(prompt: Prompt, maxTokens: number): Promise<PlainRun>;
    close(): void;
}

const workerPath = fileURLToPath(new URL("./stockPlainWorker.ts", import.meta.url));

function nextMessage(child: ChildProcess): Promise<unknown> {
    return new Promise((resolve, reject) => {
        const onMessage = (message: unknown) => {
            child.off("exit", onExit);
            const error = (message as { error?: string }).error;
            if (error !== undefined) reject(new Error(`stock binary: ${error}`));
            else resolve(message);
        };
        const onExit = (code: number | null) => {
            child.off("message", onMessage);
            reject(new Error(`the stock-binary worker exited (code ${code})`));
        };
        child.once("message", onMessage);
        child.once("exit", onExit);
    });
}

export async function startStockPlain(modelPath: string, options: { contextSize: number; threads: number }): Promise<StockPlain> {
    const child = fork(workerPath, { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
    const ready = nextMessage(child);
    child.send({ modelPath, ...options });
    try {
        await ready;
    } catch (error) {
        child.kill();
        throw error;
    }
    return {
        async run(prompt, maxTokens) {
            const answer = nextMessage(child);
            child.send({ prompt, maxTokens });
            return (await answer) as PlainRun;
        },
        close: () => child.disconnect(),
    };
}
