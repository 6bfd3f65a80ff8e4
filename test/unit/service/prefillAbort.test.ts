import assert from "node:assert/strict";
import { getLlama, type Llama, type LlamaContextSequence, type Token } from "node-llama-cpp";
import { prefill } from "../../../src/engine/decoding.ts";
import { openModel, type OpenModel } from "../clasp/harness.ts";

// A shared engine re-prefills whole prompts when it switches windows; a keystroke in the window
// being prefilled must stop that work at the next chunk instead of after the whole prompt.
describe("prefill with a signal", function () {
    this.timeout(60_000);
    let llama: Llama;
    let open: OpenModel;
    before(async () => {
        llama = await getLlama({ gpu: false });
        open = await openModel(llama, "rand", 1024);
    });
    after(async () => {
        await open.context.dispose();
        await open.model.dispose();
    });

    it("stops at the next chunk when aborted, keeping what it evaluated for the next prefill", async () => {
        const tokens = open.model.tokenize("function add(a, b) { return a + b; }\n".repeat(15)) as Token[];
        assert.ok(tokens.length > 300, `prompt of ${tokens.length} tokens is too short to chunk`);
        await open.sequence.clearHistory();
        const controller = new AbortController();
        let evaluations = 0;
        // Aborts as soon as the first chunk is in, the way a keystroke arrives mid-prefill.
        const watched = new Proxy(open.sequence, {
            get(target, key, receiver) {
                const value = Reflect.get(target, key, receiver);
                if (key !== "evaluateWithoutGeneratingNewTokens") return typeof value === "function" ? value.bind(target) : value;
                return async (...args: unknown[]) => {
                    evaluations++;
                    await (value as (...a: unknown[]) => Promise<void>).apply(target, args);
                    controller.abort();
                };
            },
        }) as LlamaContextSequence;
        await assert.rejects(prefill(watched, tokens, controller.signal), (error: Error & { code?: string }) => error.code === "CANCELLED");
        assert.equal(evaluations, 1, "it went on evaluating after the abort");
        const kept = open.sequence.contextTokens.length;
        assert.ok(kept > 0 && kept < tokens.length - 1, `kept ${kept} of ${tokens.length - 1} tokens`);
        assert.equal(await prefill(open.sequence, tokens), kept, "the next prefill did not reuse the evaluated chunk");
        assert.equal(open.sequence.contextTokens.length, tokens.length - 1);
    });
});
