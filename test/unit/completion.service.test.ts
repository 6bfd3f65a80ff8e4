import assert from "node:assert/strict";
import type { EngineClient, RequestOptions } from "../../src/client/engineClient.ts";
import { CompletionService, type CompletionInput } from "../../src/completion/completionService.ts";
import { RequestLog } from "../../src/completion/requestLog.ts";
import { readConfig, type Config } from "../../src/config.ts";
import type { CompletionRequest, CompletionResult, EngineState, StopReason } from "../../src/engine/protocol.ts";

interface Call {
    params: CompletionRequest;
    signal?: AbortSignal;
    answer(text: string, stopReason?: StopReason): void;
    fail(error: Error): void;
}

/** An engine whose answers the test gives by hand, recording every request and its abort signal. */
class FakeEngine implements EngineClient {
    state: EngineState = "ready";
    calls: Call[] = [];
    request(method: string, params: unknown, options?: RequestOptions): Promise<never> {
        assert.equal(method, "complete");
        return new Promise((resolve, reject) => {
            const call: Call = {
                params: params as CompletionRequest,
                signal: options?.signal,
                answer: (text, stopReason) => resolve(resultOf(text, stopReason) as never),
                fail: reject,
            };
            options?.signal?.addEventListener("abort", () => reject(new Error("cancelled")), { once: true });
            this.calls.push(call);
        });
    }
    on(): () => void {
        return () => {};
    }
    async restart(): Promise<void> {}
    dispose(): void {}
}

function resultOf(text: string, stopReason: StopReason = "eog"): CompletionResult {
    return {
        text,
        generatedTokens: text.length,
        stopReason,
        usedFim: true,
        timings: { promptTokens: 10, reusedTokens: 0, promptMs: 1, firstTokenMs: 1, totalMs: 2, tokensPerSecond: 100 },
    };
}

function configWith(settings: Record<string, unknown> = {}): Config {
    const values: Record<string, unknown> = { "completion.debounceMs": 0, ...settings };
    return readConfig({ get: <T>(key: string) => values[key] as T | undefined });
}

function input(text: string, line: number, character: number, extra: Partial<CompletionInput> = {}): CompletionInput {
    const lines = text.split("\n");
    return {
        filePath: "/w/a.ts",
        languageId: "typescript",
        doc: { lineCount: lines.length, lineAt: (i) => lines[i]! },
        cursor: { line, character },
        manual: false,
        openFiles: () => [],
        ...extra,
    };
}

/** Lets queued promise callbacks run (the service awaits before it calls the engine). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 5));

function setup(settings: Record<string, unknown> = {}) {
    const engine = new FakeEngine();
    const log = new RequestLog();
    let config = configWith(settings);
    const service = new CompletionService({ engine: () => engine, config: () => config, log });
    return { engine, log, service, setConfig: (s: Record<string, unknown>) => (config = configWith(s)) };
}

/** Asks for a suggestion, answers the engine request with `answer`, and lets the prefetch start. */
async function showSuggestion(
    s: ReturnType<typeof setup>,
    text: string,
    line: number,
    character: number,
    answer: string,
    extra: Partial<CompletionInput> = {},
) {
    const pending = s.service.provide(input(text, line, character, extra));
    await settle();
    s.engine.calls.at(-1)!.answer(answer);
    const shown = await pending;
    await settle();
    return shown;
}

describe("completion service", () => {
    it("asks the engine with prefix and suffix and shows the cleaned-up answer", async () => {
        const { engine, log, service } = setup();
        const pending = service.provide(input("const total = \nfoo();", 0, 14));
        await settle();
        assert.equal(engine.calls.length, 1);
        assert.equal(engine.calls[0]!.params.prefix, "const total = ");
        assert.equal(engine.calls[0]!.params.suffix, "\nfoo();");
        engine.calls[0]!.answer("a + b;\nfoo();\n");
        const suggestion = await pending;
        assert.deepEqual(suggestion, { insertText: "a + b;", replaceFromCharacter: 14 });
        assert.equal(log.recent()[0]!.outcome, "shown");
        assert.deepEqual(service.lastCompletion, { text: "a + b;", stopReason: "eog" });
        assert.equal(service.acceptance.current.shown, 1);
    });

    it("a new keystroke aborts the engine request in flight", async () => {
        const { engine, log, service } = setup();
        const first = service.provide(input("let a", 0, 5));
        await settle();
        const second = service.provide(input("let ab", 0, 6));
        await settle();
        assert.equal(engine.calls.length, 2);
        assert.equal(engine.calls[0]!.signal?.aborted, true, "the first request's signal was not aborted");
        assert.equal(engine.calls[1]!.signal?.aborted, false);
        assert.equal(await first, undefined);
        assert.equal(log.recent()[0]!.outcome, "cancelled");
        engine.calls[1]!.answer("c = 1;");
        assert.equal((await second)?.insertText, "c = 1;");
    });

    it("VS Code's cancellation aborts the engine request too", async () => {
        const { engine, service } = setup();
        const cancel = new AbortController();
        const pending = service.provide(input("x", 0, 1), cancel.signal);
        await settle();
        cancel.abort();
        assert.equal(await pending, undefined);
        assert.equal(engine.calls[0]!.signal?.aborted, true);
    });

    it("typing what the suggestion says is served from the cache without a request", async () => {
        const { engine, log, service } = setup();
        const pending = service.provide(input("const v = ;", 0, 10));
        await settle();
        engine.calls[0]!.answer("compute(1)");
        assert.equal((await pending)?.insertText, "compute(1)");
        const typed = await service.provide(input("const v = comp;", 0, 14));
        assert.equal(typed?.insertText, "ute(1)");
        assert.equal(engine.calls.length, 1);
        assert.equal(log.recent()[0]!.outcome, "cached");
    });

    it("prefetches the next suggestion, so accepting one shows the next at once", async () => {
        const s = setup();
        const { engine, service } = s;
        await showSuggestion(s, "function f() {", 0, 14, "\n    a();");
        assert.equal(engine.calls.length, 2, "no prefetch request was sent");
        assert.equal(engine.calls[1]!.params.prefix, "function f() {\n    a();");
        engine.calls[1]!.answer("\n    b();");
        await settle();
        const next = await service.provide(input("function f() {\n    a();", 1, 8));
        assert.equal(next?.insertText, "\n    b();");
        assert.equal(engine.calls.length, 2);
    });

    it("typing through the shown suggestion keeps the prefetch running", async () => {
        const s = setup();
        const { engine, service } = s;
        await showSuggestion(s, "if (x) {", 0, 8, "\n    y();");
        const typed = await service.provide(input("if (x) {\n    y", 1, 5));
        assert.equal(typed?.insertText, "();");
        assert.equal(engine.calls.length, 2);
        assert.equal(engine.calls[1]!.signal?.aborted, false, "the prefetch was aborted by a typed-through keystroke");
    });

    it("a keystroke elsewhere aborts the prefetch", async () => {
        const s = setup();
        const { engine, service } = s;
        await showSuggestion(s, "if (x) {", 0, 8, "\n    y();");
        void service.provide(input("if (z) {", 0, 8));
        await settle();
        assert.equal(engine.calls[1]!.signal?.aborted, true);
    });

    it("warms the KV cache with a prefill-only request that the next keystroke aborts, without showing busy", async () => {
        const engine = new FakeEngine();
        const busy: boolean[] = [];
        const service = new CompletionService({ engine: () => engine, config: () => configWith(), log: new RequestLog(), onBusy: (b) => busy.push(b) });
        service.warm(input("const a = 1;\n", 1, 0));
        assert.equal(engine.calls.length, 1);
        assert.equal(engine.calls[0]!.params.prefillOnly, true);
        // the engine's prompt budget depends on maxTokens: a warm-up must lay out the prompt the real request will
        assert.equal(engine.calls[0]!.params.maxTokens, configWith().completion.maxTokens);
        assert.equal(engine.calls[0]!.params.prefix, "const a = 1;\n");
        assert.deepEqual(busy, []);
        void service.provide(input("const a = 1;\nx", 1, 1));
        await settle();
        assert.equal(engine.calls[0]!.signal?.aborted, true);
        assert.deepEqual(busy, [true]);
    });

    it("warms after each edit, one prefill at a time, and then only the newest edit's", async () => {
        const { engine, service } = setup();
        service.warmAfterEdit(input("let a", 0, 5));
        service.warmAfterEdit(input("let ab", 0, 6));
        service.warmAfterEdit(input("let abc", 0, 7));
        assert.equal(engine.calls.length, 1, "a second warm-up started while one was running");
        assert.equal(engine.calls[0]!.params.prefix, "let a");
        assert.equal(engine.calls[0]!.params.prefillOnly, true);
        engine.calls[0]!.answer("");
        await settle();
        assert.deepEqual(engine.calls.map((call) => call.params.prefix), ["let a", "let abc"]);
        assert.equal(engine.calls[1]!.params.prefillOnly, true);
        engine.calls[1]!.answer("");
        await settle();
        assert.equal(engine.calls.length, 2, "nothing was queued after the newest edit");
    });

    it("reports a warm-up (clasp.debug.state's lastWarm) only once the engine says it prefilled it", async () => {
        const { engine, service } = setup();
        service.warmAfterEdit(input("let a", 0, 5));
        await settle();
        assert.equal(service.lastWarm, undefined, "reported before the engine answered");
        engine.calls[0]!.answer("", "eog");
        await settle();
        assert.equal(service.lastWarm, undefined, "an engine that generated instead of prefilling counts as warmed");
        service.warmAfterEdit(input("let ab", 0, 6));
        engine.calls[1]!.fail(new Error("engine restarted"));
        await settle();
        assert.equal(service.lastWarm, undefined, "a failed warm-up counts as warmed");
        service.warmAfterEdit(input("let abc", 0, 7));
        engine.calls[2]!.answer("", "prefilled");
        await settle();
        assert.deepEqual(service.lastWarm, { filePath: "/w/a.ts", line: 0, character: 7 });
    });

    it("a queued warm-up is laid out at its edit, not from the document as it is later", async () => {
        const { engine, service } = setup();
        const lines = ["x"];
        const live: CompletionInput = { ...input("x", 0, 1), doc: { lineCount: 1, lineAt: () => lines[0]! } };
        service.warmAfterEdit(live);
        lines[0] = "xy";
        service.warmAfterEdit({ ...live, cursor: { line: 0, character: 2 } });
        lines[0] = "xyz = 1;";
        engine.calls[0]!.answer("");
        await settle();
        assert.equal(engine.calls[1]!.params.prefix, "xy");
    });

    it("a suggestion request aborts the warm-up and drops the queued one", async () => {
        const { engine, service } = setup();
        service.warmAfterEdit(input("let a", 0, 5));
        service.warmAfterEdit(input("let ab", 0, 6));
        const pending = service.provide(input("let ab", 0, 6));
        await settle();
        assert.equal(engine.calls[0]!.signal?.aborted, true);
        assert.equal(engine.calls.length, 2);
        assert.equal(engine.calls[1]!.params.prefillOnly, undefined, "the suggestion request must generate");
        engine.calls[1]!.answer("c = 1;");
        assert.equal((await pending)?.insertText, "c = 1;");
        await settle();
        assert.ok(engine.calls.slice(2).every((call) => !call.params.prefillOnly), "the dropped warm-up ran after all");
    });

    it("an edit toward the prefetched position leaves the prefetch running; one elsewhere replaces it with a warm-up", async () => {
        const s = setup();
        const { engine, service } = s;
        await showSuggestion(s, "if (x) {", 0, 8, "\n    y();");
        assert.equal(engine.calls.length, 2);
        service.warmAfterEdit(input("if (x) {\n    y", 1, 5));
        assert.equal(engine.calls.length, 2, "typing the suggestion started a warm-up");
        assert.equal(engine.calls[1]!.signal?.aborted, false);
        service.warmAfterEdit(input("if (x) {q", 0, 9));
        assert.equal(engine.calls[1]!.signal?.aborted, true, "the prefetch of a suggestion typed away from kept running");
        assert.equal(engine.calls.length, 3);
        assert.equal(engine.calls[2]!.params.prefillOnly, true);
        assert.equal(engine.calls[2]!.params.prefix, "if (x) {q");
    });

    it("does not warm after edits with clasp.completion.warmWhileTyping off, while paused, or before the model is ready", () => {
        for (const settings of [{ "completion.warmWhileTyping": false }, { paused: true }, { enable: { typescript: false } }]) {
            const { engine, service } = setup(settings);
            service.warmAfterEdit(input("x", 0, 1));
            assert.equal(engine.calls.length, 0, JSON.stringify(settings));
        }
        const { engine, service } = setup();
        engine.state = "loading";
        service.warmAfterEdit(input("x", 0, 1));
        assert.equal(engine.calls.length, 0);
    });

    it("does not warm while paused, for a disabled language, or before the model is ready", () => {
        for (const settings of [{ paused: true }, { enable: { typescript: false } }]) {
            const { engine, service } = setup(settings);
            service.warm(input("x", 0, 1));
            assert.equal(engine.calls.length, 0);
        }
        const { engine, service } = setup();
        engine.state = "loading";
        service.warm(input("x", 0, 1));
        assert.equal(engine.calls.length, 0);
    });

    it("mid statement asks for the rest of the line first and prefetches the lines after it", async () => {
        const { engine, service } = setup();
        const pending = service.provide(input("const total = sum", 0, 17));
        await settle();
        assert.equal(engine.calls[0]!.params.singleLine, true, "mid statement must not wait for a whole block");
        engine.calls[0]!.answer("(values);\nreturn total;");
        assert.equal((await pending)?.insertText, "(values);");
        await settle();
        assert.equal(engine.calls.length, 2, "no prefetch of the lines after it");
        assert.equal(engine.calls[1]!.params.prefix, "const total = sum(values);");
        assert.equal(engine.calls[1]!.params.singleLine, false);
    });

    it("mid statement (an assignment, an operator, a list) asks for one line", async () => {
        for (const line of ["let subtotal = ", "const x = a *", "  items.push(item),", "return value"]) {
            const { engine, service } = setup();
            void service.provide(input(line, 0, line.length));
            await settle();
            assert.equal(engine.calls[0]!.params.singleLine, true, JSON.stringify(line));
        }
    });

    it("on an empty line or after a block opener asks for the block", async () => {
        for (const line of ["", "    ", "function f() {", "const x = [", "  value:", "  onClick: () =>", "def f(x):"]) {
            const { engine, service } = setup();
            void service.provide(input(line, 0, line.length));
            await settle();
            assert.equal(engine.calls[0]!.params.singleLine, false, JSON.stringify(line));
        }
    });

    it("asks for a single line when text follows the cursor", async () => {
        const { engine, service } = setup();
        const pending = service.provide(input("call()", 0, 5));
        await settle();
        assert.equal(engine.calls[0]!.params.singleLine, true);
        engine.calls[0]!.answer("a, b)\nmore();");
        assert.equal((await pending)?.insertText, "a, b");
    });

    it("extends the IntelliSense item that is selected and replaces its range", async () => {
        const { engine, service } = setup();
        const pending = service.provide(input("console.l", 0, 9, { selected: { startCharacter: 8, text: "log" } }));
        await settle();
        assert.equal(engine.calls[0]!.params.prefix, "console.log");
        engine.calls[0]!.answer('("hi");');
        assert.deepEqual(await pending, { insertText: 'log("hi");', replaceFromCharacter: 8 });
    });

    it("after a trigger character, waits only the short debounce even when an IntelliSense item is selected", async () => {
        const { engine, log, service } = setup({ "completion.debounceMs": 80 });
        const pending = service.provide(input("xs.", 0, 3, { selected: { startCharacter: 3, text: "map" } }));
        await new Promise((resolve) => setTimeout(resolve, 60));
        engine.calls[0]!.answer("(f)");
        await pending;
        assert.match(log.recent()[0]!.detail, /debounce 20 ms/);
    });

    it("counts the quiet since the edit toward the debounce (VS Code already waited before it asked)", async () => {
        const { engine, log, service } = setup({ "completion.debounceMs": 80 });
        // Edited 50 ms before VS Code asked: the eager 20 ms wait has passed.
        const eager = service.provide(input("xs.", 0, 3, { editedAt: Date.now() - 50 }));
        await settle();
        assert.equal(engine.calls.length, 1, "no wait left after '.'");
        engine.calls[0]!.answer("map()");
        await eager;
        assert.match(log.recent()[0]!.detail, /debounce 0 ms/);
        // The rest of a normal wait, read from the record of a request aborted during it (no timer race).
        const other = setup({ "completion.debounceMs": 400 });
        const abort = new AbortController();
        const normal = other.service.provide(input("const tot", 0, 9, { editedAt: Date.now() - 50 }), abort.signal);
        abort.abort();
        assert.equal(await normal, undefined);
        assert.equal(other.engine.calls.length, 0);
        assert.match(other.log.recent()[0]!.detail, /during the 350 ms debounce/);
    });

    it("does not call the engine when paused, when the language is off, or before the model is ready", async () => {
        const paused = setup({ paused: true });
        assert.equal(await paused.service.provide(input("x", 0, 1)), undefined);
        assert.equal(await paused.service.provide(input("x", 0, 1, { manual: true })), undefined);
        assert.equal(paused.log.recent()[0]!.outcome, "paused");

        const off = setup({ enable: { "*": true, typescript: false } });
        assert.equal(await off.service.provide(input("x", 0, 1)), undefined);
        assert.equal(off.log.recent()[0]!.outcome, "languageDisabled");

        const loading = setup();
        loading.engine.state = "loading";
        assert.equal(await loading.service.provide(input("x", 0, 1)), undefined);
        assert.equal(loading.log.recent()[0]!.outcome, "engineNotReady");

        for (const s of [paused, off, loading]) assert.equal(s.engine.calls.length, 0);
    });

    it("still answers CLaSp's own trigger command while paused", async () => {
        const { engine, service } = setup({ paused: true });
        const pending = service.provide(input("x", 0, 1, { manual: true, overridePause: true }));
        await settle();
        assert.equal(engine.calls.length, 1);
        engine.calls[0]!.answer(" = 1;");
        assert.equal((await pending)?.insertText, " = 1;");
    });

    it("records an engine error and an answer the stop rules removed", async () => {
        const { engine, log, service } = setup();
        const failing = service.provide(input("a", 0, 1));
        await settle();
        engine.calls[0]!.fail(new Error("model crashed"));
        assert.equal(await failing, undefined);
        assert.equal(log.recent()[0]!.outcome, "error");
        assert.match(log.recent()[0]!.detail, /model crashed/);

        const repeating = service.provide(input("x\n    return y;", 0, 1));
        await settle();
        engine.calls[1]!.answer("\n    return y;");
        assert.equal(await repeating, undefined);
        assert.equal(log.recent()[0]!.outcome, "filtered");
    });

    it("sends snippets of other open files within the token budget, and none when it is 0", async () => {
        const files = [
            { path: "/w/b.ts", languageId: "typescript", text: "export const b = 1;\n", lastUsed: 2 },
            { path: "/w/a.ts", languageId: "typescript", text: "self", lastUsed: 3 },
        ];
        const withBudget = setup({ "completion.extraContext": 256 });
        void withBudget.service.provide(input("x", 0, 1, { openFiles: () => files }));
        await settle();
        assert.deepEqual(withBudget.engine.calls[0]!.params.extraContext, [{ path: "/w/b.ts", text: "export const b = 1;\n" }]);

        const off = setup({ "completion.extraContext": 0 });
        void off.service.provide(input("x", 0, 1, { openFiles: () => files }));
        await settle();
        assert.equal(off.engine.calls[0]!.params.extraContext, undefined);
    });

    describe("re-queries without a keystroke (IntelliSense opening or closing, Escape)", () => {
        const line = "const n = prices.";
        const at = (extra: Partial<CompletionInput> = {}) => input(line, 0, 17, { documentVersion: 7, ...extra });
        const item = { startCharacter: 17, text: "at" };

        it("after Escape closes IntelliSense, shows nothing there, even from the cache, until a keystroke", async () => {
            const { engine, service } = setup();
            const first = service.provide(at({ selected: item }));
            await settle();
            engine.calls[0]!.answer("(0);");
            assert.deepEqual(await first, { insertText: "at(0);", replaceFromCharacter: 17 });
            const requests = engine.calls.length;

            // Escape closed the widget: VS Code asks again at the same version and cursor.
            assert.equal(await service.provide(at()), undefined);
            // The widget reopening (or any later re-query) does not bring it back either.
            assert.equal(await service.provide(at({ selected: item })), undefined);
            assert.equal(await service.provide(at()), undefined);
            assert.equal(engine.calls.length, requests, "a dismissed position sent a new engine request");

            // A keystroke (a new version) is asked afresh.
            const typed = service.provide(input(line + "a", 0, 18, { documentVersion: 8 }));
            await settle();
            assert.equal(engine.calls.length, requests + 1);
            engine.calls.at(-1)!.answer("t(1);");
            assert.equal((await typed)?.insertText, "t(1);");
        });

        it("a manual trigger after Escape asks the engine again", async () => {
            const { engine, service } = setup();
            const first = service.provide(at({ selected: item }));
            await settle();
            engine.calls[0]!.answer("(0);");
            await first;
            assert.equal(await service.provide(at()), undefined);
            const manual = service.provide(at({ manual: true }));
            await settle();
            engine.calls.at(-1)!.answer(".length;");
            assert.equal((await manual)?.insertText, ".length;");
        });

        it("keeps the shown suggestion when VS Code asks again after the cache was cleared", async () => {
            const s = setup();
            const shown = await showSuggestion(s, line, 0, 17, "reduce((a, b) => a + b);", { documentVersion: 7 });
            const requests = s.engine.calls.length;
            s.service.cache.clear();
            assert.deepEqual(await s.service.provide(at()), shown);
            assert.equal(s.engine.calls.length, requests, "a re-query without a keystroke sent a new engine request");
        });

        it("IntelliSense opening by itself keeps the suggestion it starts, and never swaps in a different one", async () => {
            const starting = setup();
            await showSuggestion(starting, line, 0, 17, "at(-1);", { documentVersion: 7 });
            const requests = starting.engine.calls.length;
            assert.deepEqual(await starting.service.provide(at({ selected: item })), { insertText: "at(-1);", replaceFromCharacter: 17 });
            assert.equal(starting.engine.calls.length, requests);

            const other = setup();
            await showSuggestion(other, line, 0, 17, "reduce((a, b) => a + b);", { documentVersion: 7 });
            const before = other.engine.calls.length;
            assert.equal(await other.service.provide(at({ selected: item })), undefined);
            assert.equal(other.engine.calls.length, before, "IntelliSense opening sent a request for a different suggestion");
        });
    });
});
