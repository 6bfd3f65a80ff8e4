// The inline-completion pipeline without any `vscode` types: gate (pause, language, engine) →
// layout → cache → debounce → engine request (aborted by the next keystroke) → stop rules →
// cache and prefetch. The VS Code provider only converts documents and positions.
import type { EngineClient } from "../client/engineClient.ts";
import type { CompletionResult } from "../engine/protocol.ts";
import type { Config } from "../config.ts";
import { AcceptanceStats } from "./acceptanceStats.ts";
import { CompletionCache } from "./completionCache.ts";
import { AdaptiveDebounce, LatestRequest, abortableDelay } from "./debounce.ts";
import type { OpenFile } from "./extraContext.ts";
import { selectExtraContext } from "./extraContext.ts";
import { isLanguageEnabled } from "./languageFilter.ts";
import type { CursorContext, CursorPosition, TextView } from "./promptLayout.ts";
import { buildCursorContext, needsSingleLine, wantsBlock } from "./promptLayout.ts";
import type { Outcome, RequestLog } from "./requestLog.ts";
import { formatTiming } from "./requestTiming.ts";
import { applyStopRules } from "../text/stopRules.ts";
import type { SelectedItem, Suggestion } from "./suggestionLifetime.ts";
import { SuggestionLifetime } from "./suggestionLifetime.ts";

export type { SelectedItem, Suggestion };

export interface CompletionInput {
    filePath: string;
    languageId: string;
    doc: TextView;
    cursor: CursorPosition;
    /** The editor's document version: with the path and cursor it tells a re-query from a keystroke. */
    documentVersion?: number;
    /** When (this service's clock) the edit that made this document version happened, if known. */
    editedAt?: number;
    /** Explicit trigger (VS Code's or ours): skip the debounce and the cache. */
    manual: boolean;
    /** Our own "trigger suggestion" command: the user asked for one even while paused. */
    overridePause?: boolean;
    selected?: SelectedItem;
    openFiles(): OpenFile[];
}

export type WarmedPosition = { filePath: string } & CursorPosition;

export interface LastCompletion {
    text: string;
    stopReason: string;
}

export interface ServiceDeps {
    engine(): EngineClient | undefined;
    config(): Config;
    log: RequestLog;
    /** Told when engine requests start and all have ended (status bar "thinking"). */
    onBusy?(busy: boolean): void;
    now?(): number;
}

/** The engine may overrun its own time cap by this much before the client gives up on it. */
const clientGraceMs = 2000;

/** Engine work nobody waits for: a prefetch (which caches the suggestion for `target`) or a warm-up. */
interface Background {
    target?: { prefix: string; suffix: string };
    controller: AbortController;
    done: Promise<void>;
}

export class CompletionService {
    readonly cache = new CompletionCache();
    readonly acceptance = new AcceptanceStats();
    private readonly debounce: AdaptiveDebounce;
    private readonly latest = new LatestRequest();
    private readonly lifetime = new SuggestionLifetime();
    private background: Background | undefined;
    /** The newest edit's warm-up, waiting for the background work in flight. */
    private queuedWarm: { input: CompletionInput; context: CursorContext } | undefined;
    private warmedAt: WarmedPosition | undefined;
    private inFlight = 0;
    private last: LastCompletion | undefined;
    private readonly now: () => number;

    constructor(private readonly deps: ServiceDeps) {
        this.now = deps.now ?? (() => Date.now());
        this.debounce = new AdaptiveDebounce({ baseMs: deps.config().completion.debounceMs });
    }

    get lastCompletion(): LastCompletion | undefined {
        return this.last;
    }

    /** Where the last warm-up the engine finished prefilling ended (clasp.debug.state shows it). */
    get lastWarm(): WarmedPosition | undefined {
        return this.warmedAt;
    }

    /** Called on every keystroke by the provider; `cancel` is VS Code's cancellation. */
    async provide(input: CompletionInput, cancel?: AbortSignal): Promise<Suggestion | undefined> {
        const started = this.now();
        const config = this.deps.config();
        const record = (outcome: Outcome, detail: string, extra: { preview?: string } = {}) =>
            this.deps.log.add({
                at: started,
                file: input.filePath,
                languageId: input.languageId,
                line: input.cursor.line,
                character: input.cursor.character,
                outcome,
                detail,
                latencyMs: this.now() - started,
                ...extra,
            });

        if (config.paused && !input.overridePause) return void record("paused", "clasp.paused is on");
        if (!isLanguageEnabled(config.enable, input.languageId))
            return void record("languageDisabled", `clasp.enable has "${input.languageId}" off`);
        const engine = this.deps.engine();
        if (!engine || engine.state !== "ready") return void record("engineNotReady", `engine state: ${engine?.state ?? "stopped"}`);

        const selected = input.selected && input.selected.startCharacter <= input.cursor.character ? input.selected : undefined;
        const typed = buildCursorContext(input.doc, input.cursor);
        const context = withSelectedItem(typed, selected);
        const replaceFromCharacter = selected ? selected.startCharacter : input.cursor.character;
        const leading = selected?.text ?? "";
        const stateKey = stateKeyOf(input, typed);
        const verdict = this.lifetime.consider({ stateKey, linePrefix: typed.linePrefix, selected, manual: input.manual });
        // Logged as "cancelled": a re-query without a keystroke is answered with nothing.
        if (verdict.kind === "withhold") return void record("cancelled", `withheld: ${verdict.reason}`);
        if (verdict.kind === "repeat") {
            record("cached", "the suggestion already shown here (re-query without a keystroke)", { preview: verdict.suggestion.insertText.slice(0, 80) });
            return verdict.suggestion;
        }

        const signal = this.latest.begin(cancel);
        const suggestion = (text: string): Suggestion => {
            const answer = { insertText: leading + text, replaceFromCharacter };
            // Re-queries at this same state repeat it (see SuggestionLifetime).
            if (!signal.aborted) this.lifetime.shown(stateKey, answer);
            return answer;
        };
        if (!input.manual) {
            await this.prefetchReaching(context, signal);
            const hit = this.cache.get(context.prefix, context.suffix);
            if (hit !== undefined) {
                this.debounce.observe(started);
                record("cached", "typed-through or prefetched suggestion", { preview: hit.slice(0, 80) });
                return suggestion(hit);
            }
        }
        // This position needs the engine, which runs one generation at a time: background work yields.
        this.dropBackground();
        // The document's own line decides eagerness (after "." the IntelliSense item is not typed yet).
        const quietMs = input.editedAt === undefined ? 0 : started - input.editedAt;
        const wait = input.manual ? 0 : this.debounce.delayFor(started, typed.linePrefix, quietMs);
        if (!(await abortableDelay(wait, signal))) return void record("cancelled", `during the ${wait} ms debounce`);

        // Text after the cursor leaves only the rest of its line; mid statement, the rest of the line
        // comes first and the lines after it as the prefetched next suggestion.
        const restOfLineOnly = needsSingleLine(context.lineSuffix);
        const singleLine = restOfLineOnly || !wantsBlock(context.linePrefix);
        const requested = this.now();
        let result: CompletionResult;
        try {
            result = await this.request(engine, context, input, singleLine, signal);
        } catch (error) {
            if (signal.aborted) return void record("cancelled", "aborted while the engine was generating");
            return void record("error", error instanceof Error ? error.message : String(error));
        }
        if (signal.aborted) return void record("cancelled", "superseded after the engine answered");

        const processed = applyStopRules(result.text, {
            linePrefix: context.linePrefix,
            lineSuffix: context.lineSuffix,
            nextLines: context.nextLines,
            maxLines: config.completion.maxLines,
            singleLine,
        });
        this.last = { text: processed.text, stopReason: result.stopReason };
        const rules = processed.applied.length > 0 ? `; stop rules: ${processed.applied.join(", ")}` : "";
        // Where the time went: debounce, the engine's own work (after laying out the prompt: prefill, then
        // generation, whose first token comes at firstTokenMs), and the wait around it (IPC, queueing behind other work).
        const roundTrip = this.now() - requested;
        const t = result.timings;
        const timing = formatTiming({
            debounceMs: wait, roundTripMs: roundTrip, engineMs: t.totalMs,
            promptBuildMs: t.promptBuildMs ?? 0, prefillMs: t.promptMs, firstTokenMs: t.firstTokenMs,
        });
        const detail = `engine stop: ${result.stopReason}, ${result.generatedTokens} tokens; ${timing}${rules}`;
        if (processed.text.length === 0) {
            return void record(result.text.trim().length > 0 ? "filtered" : "empty", detail);
        }
        this.cache.set(context.prefix, context.suffix, processed.text);
        this.acceptance.noteShown();
        record("shown", detail, { preview: processed.text.slice(0, 80) });
        if (!restOfLineOnly) this.startPrefetch(engine, context, processed.text, input);
        return suggestion(processed.text);
    }

    /** Stops whatever the engine is doing for completions (pause, model switch, dispose). */
    cancelAll(): void {
        this.latest.abort();
        this.dropBackground();
        // Whatever was shown came from work that is now stopped (pause, model switch).
        this.lifetime.reset();
    }

    /**
     * Has the engine evaluate the prompt for the cursor's position (prefill only, nothing
     * generated), so the first real request there reuses that KV cache instead of prefilling the
     * whole window. Called when an editor gets focus and when a model becomes ready; any keystroke
     * that needs the engine aborts it.
     */
    warm(input: CompletionInput): void {
        const engine = this.warmableEngine(input);
        if (!engine || this.background) return;
        this.startWarm(engine, input, buildCursorContext(input.doc, input.cursor));
    }

    /**
     * After an edit (clasp.completion.warmWhileTyping): the same prefill for the new cursor
     * position. VS Code asks for a suggestion only after 50 ms without a keystroke, and a line typed
     * quickly reached the engine with all of its 6–8 tokens still to prefill (about 90 ms of the
     * ghost-text latency on SmolLM2, 2-core CPU); warmed as it is typed, one or two are left. One
     * warm-up runs at a time, and edits meanwhile leave only the newest to run after it. A prefetch
     * stays while the edit types toward its position (or past it, where it serves the cache) and
     * gives way to the warm-up otherwise; a request for a suggestion aborts either.
     */
    warmAfterEdit(input: CompletionInput): void {
        const engine = this.warmableEngine(input);
        if (!engine || !this.deps.config().completion.warmWhileTyping) return;
        // Laid out now: the document view reads the live document, which a queued warm-up would see changed.
        const context = buildCursorContext(input.doc, input.cursor);
        const background = this.background;
        if (background?.target && onTheWayTo(context, background.target)) return;
        if (background && !background.target) this.queuedWarm = { input, context };
        else this.startWarm(engine, input, context);
    }

    private warmableEngine(input: CompletionInput): EngineClient | undefined {
        const config = this.deps.config();
        const engine = this.deps.engine();
        if (config.paused || !isLanguageEnabled(config.enable, input.languageId) || engine?.state !== "ready") return undefined;
        return engine;
    }

    private startWarm(engine: EngineClient, input: CompletionInput, context: CursorContext): void {
        const controller = new AbortController();
        const done = this.request(engine, context, input, false, controller.signal, { background: true, prefillOnly: true }).then(
            (result) => {
                // Only the engine's own "prefilled" says the KV cache now holds this prompt.
                if (result.stopReason === "prefilled") this.warmedAt = { filePath: input.filePath, ...input.cursor };
            },
            () => undefined,
        );
        this.runInBackground({ controller, done });
        void done.then(() => {
            const queued = this.queuedWarm;
            this.queuedWarm = undefined;
            const next = queued && !this.background ? this.warmableEngine(queued.input) : undefined;
            if (next) this.startWarm(next, queued!.input, queued!.context);
        });
    }

    private async request(
        engine: EngineClient,
        context: CursorContext,
        input: CompletionInput,
        singleLine: boolean,
        signal: AbortSignal,
        options: { background?: boolean; prefillOnly?: boolean } = {},
    ): Promise<CompletionResult> {
        const config = this.deps.config();
        this.debounce.configure({ baseMs: config.completion.debounceMs });
        const budget = config.completion.extraContext;
        const current = { path: input.filePath, languageId: input.languageId };
        const extraContext = budget > 0 ? selectExtraContext(input.openFiles(), current, budget) : [];
        const params = {
            prefix: context.prefix,
            suffix: context.suffix,
            extraContext: extraContext.length > 0 ? extraContext : undefined,
            filePath: input.filePath,
            languageId: input.languageId,
            // a prefill-only request keeps maxTokens: the engine's prompt budget, so the same prompt, depends on it
            maxTokens: config.completion.maxTokens,
            prefillOnly: options.prefillOnly || undefined,
            maxLines: config.completion.maxLines,
            timeoutMs: config.completion.timeoutMs,
            singleLine,
        };
        // The engine stops itself at timeoutMs; this guard only covers an engine that never answers.
        const guarded = linkedWithTimeout(signal, config.completion.timeoutMs + clientGraceMs);
        // Only work the user waits for shows as busy.
        const visible = !options.background;
        if (visible && this.inFlight++ === 0) this.deps.onBusy?.(true);
        try {
            return await engine.request("complete", params, { signal: guarded.signal });
        } finally {
            guarded.dispose();
            if (visible && --this.inFlight === 0) this.deps.onBusy?.(false);
        }
    }

    /**
     * After a suggestion is shown, ask for the one that follows it, as if it had been accepted,
     * so Tab, Tab, Tab does not wait. The next keystroke aborts it unless it is the very position
     * being prefetched.
     */
    private startPrefetch(engine: EngineClient, context: CursorContext, shown: string, input: CompletionInput): void {
        const prefix = context.prefix + shown;
        const linePrefix = prefix.slice(prefix.lastIndexOf("\n") + 1);
        const next: CursorContext = { ...context, prefix, linePrefix };
        const controller = new AbortController();
        const done = this.request(engine, next, input, false, controller.signal, { background: true }).then(
            (result) => {
                const processed = applyStopRules(result.text, {
                    linePrefix,
                    lineSuffix: context.lineSuffix,
                    nextLines: context.nextLines,
                    maxLines: this.deps.config().completion.maxLines,
                    singleLine: false,
                });
                if (!controller.signal.aborted) this.cache.set(prefix, context.suffix, processed.text);
            },
            () => undefined,
        );
        this.runInBackground({ target: { prefix, suffix: context.suffix }, controller, done });
    }

    private runInBackground(work: Background): void {
        this.dropBackground();
        this.background = work;
        void work.done.finally(() => {
            if (this.background === work) this.background = undefined;
        });
    }

    /**
     * Waits for the prefetch when the user has arrived at (or typed past) the position it is
     * for, e.g. by accepting the shown suggestion. While they are still typing toward it, it keeps
     * running and the cache serves the current position.
     */
    private async prefetchReaching(context: CursorContext, signal: AbortSignal): Promise<void> {
        const pending = this.background;
        const target = pending?.target;
        if (!pending || !target || target.suffix !== context.suffix || !context.prefix.startsWith(target.prefix)) return;
        await Promise.race([pending.done, new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }))]);
    }

    private dropBackground(): void {
        this.background?.controller.abort();
        this.background = undefined;
        this.queuedWarm = undefined;
    }
}

/** Whether the cursor is before the prefetched position along its text, at it, or past it. */
function onTheWayTo(context: CursorContext, target: { prefix: string; suffix: string }): boolean {
    return target.suffix === context.suffix && (target.prefix.startsWith(context.prefix) || context.prefix.startsWith(target.prefix));
}

/** Equal for two queries exactly when nothing was typed and the cursor stayed put. */
function stateKeyOf(input: CompletionInput, typed: CursorContext): string {
    // Without a version (not an editor), the text around the cursor stands in for it.
    const version = input.documentVersion ?? `${typed.prefix}\u0000${typed.suffix}`;
    return `${input.filePath}\u0000${version}\u0000${input.cursor.line}:${input.cursor.character}`;
}

/** The context as if the IntelliSense widget's selected item were accepted (VS Code only shows ghost text that extends it). */
function withSelectedItem(context: CursorContext, selected: SelectedItem | undefined): CursorContext {
    if (!selected) return context;
    const typedLength = context.linePrefix.length - selected.startCharacter;
    if (typedLength < 0) return context;
    const cut = (text: string) => text.slice(0, text.length - typedLength) + selected.text;
    return { ...context, prefix: cut(context.prefix), linePrefix: cut(context.linePrefix) };
}

function linkedWithTimeout(signal: AbortSignal, ms: number): { signal: AbortSignal; dispose(): void } {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error(`no answer from the engine within ${ms} ms`)), ms);
    const follow = () => controller.abort(signal.reason);
    if (signal.aborted) follow();
    else signal.addEventListener("abort", follow, { once: true });
    return {
        signal: controller.signal,
        dispose() {
            clearTimeout(timer);
            signal.removeEventListener("abort", follow);
        },
    };
}
