// Child process of the benchmark: plain decoding on node-llama-cpp's stock prebuilt binary. It runs
// in its own process because the stock and the patched build share library names (libggml-base.so),
// which one process would load only once. Messages: {modelPath, contextSize, threads} first, then
// {prompt, maxTokens} per run; each answer is a PlainRun or {error}.
import { getLlama, LlamaLogLevel } from "node-llama-cpp";
import type { Prompt } from "../src/engine/promptLayout.ts";
import { decodingContextOptions } from "../src/engine/decoding.ts";
import { timedPlainRun } from "./plainRun.ts";

interface Setup { modelPath: string; contextSize: number; threads: number }
interface RunRequest { prompt: Prompt; maxTokens: number }

const send = (message: unknown) => process.send!(message);

async function main(): Promise<void> {
    const setup = await new Promise<Setup>((resolve) => process.once("message", (message) => resolve(message as Setup)));
    // no cmakeOptions and never a build: node-llama-cpp's own prebuilt binary (@node-llama-cpp/<platform>)
    const llama = await getLlama({ gpu: false, build: "never", usePrebuiltBinaries: true, maxThreads: setup.threads, logLevel: LlamaLogLevel.error, progressLogs: false });
    if (llama.buildType !== "prebuilt") throw new Error(`expected node-llama-cpp's prebuilt binary, got a ${llama.buildType}`);
    const model = await llama.loadModel({ modelPath: setup.modelPath });
    const context = await model.createContext({ ...decodingContextOptions, contextSize: setup.contextSize, threads: setup.threads, sequences: 1 });
    const sequence = context.getSequence();
    // one request at a time: the parent waits for each answer
    process.on("message", (message) => {
        const request = message as RunRequest;
        timedPlainRun(sequence, request.prompt, request.maxTokens).then(send, (error: Error) => send({ error: error.message }));
    });
    process.once("disconnect", () => {
        void context.dispose().then(() => model.dispose()).then(() => llama.dispose()).finally(() => process.exit(0));
    });
    send({ ready: true });
}

main().catch((error: unknown) => {
    send({ error: error instanceof Error ? error.message : String(error) });
    process.exit(1);
});
