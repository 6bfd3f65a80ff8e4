// What the status bar item says, as plain data so the wording is unit-tested. The text always
// names the state; with live stats it adds acceptance and measured speedup (`α 78% · 1.42×`).
import type { AcceptanceSnapshot } from "../completion/acceptanceStats.ts";
import { formatAcceptance } from "../completion/acceptanceStats.ts";
import { noFimLabel, type EngineState, type ModelInfo, type SpeculationStats } from "../engine/protocol.ts";
import { shownSpeedup, speedupVerdict } from "./speedupVerdict.ts";

export type Phase = "stopped" | "starting" | "noModel" | "downloading" | "loading" | "ready" | "error";

export interface StatusView {
    phase: Phase;
    paused: boolean;
    /** The active editor's language, when completions are off for it. */
    disabledLanguage?: string;
    /** A completion request is in flight. */
    busy: boolean;
    downloadFraction?: number;
    model?: ModelInfo;
    stats?: SpeculationStats;
    error?: string;
    /** Latency of the last shown suggestion, in ms. */
    lastLatencyMs?: number;
    /** What became of the last completion request, e.g. "filtered: stop rules: repeatsNextLines". */
    lastOutcome?: string;
    acceptance?: AcceptanceSnapshot;
    /** Why layer-skip drafts cannot run in this install and how to get them (src/ui/layerSkipText.ts). */
    layerSkipNote?: string;
}

export interface StatusPresentation {
    text: string;
    /** Markdown. */
    tooltip: string;
    /** True when the item should use the warning/error colours. */
    alarming: boolean;
}

export function stateLabel(view: StatusView): string {
    switch (view.phase) {
        case "downloading":
            return view.downloadFraction === undefined ? "downloading" : `downloading ${Math.floor(view.downloadFraction * 100)}%`;
        case "noModel":
            return "no model";
        case "ready":
            if (view.paused) return "paused";
            if (view.disabledLanguage) return `off (${view.disabledLanguage})`;
            return view.busy ? "thinking" : "ready";
        default:
            return view.phase;
    }
}

function icon(view: StatusView): string {
    if (view.phase === "error") return "$(error)";
    if (view.phase === "noModel") return "$(warning)";
    if (view.phase !== "ready" || view.busy) return "$(sync~spin)";
    if (view.paused) return "$(debug-pause)";
    if (view.disabledLanguage) return "$(circle-slash)";
    return "$(check)";
}

export function formatPercent(fraction: number): string {
    return `${Math.round(Math.min(1, Math.max(0, fraction)) * 100)}%`;
}

/**
 * `α 78% · 1.42×` once the speedup is known within ±5 %; until then (and with speculation off)
 * `α 78% · 3.4 tok/round`, and the tooltip says why there is no speedup yet.
 */
export function formatStats(stats: SpeculationStats): string {
    const speedup = shownSpeedup(stats);
    return `α ${formatPercent(stats.acceptance)} · ${speedup === null ? `${stats.meanAccepted.toFixed(1)} tok/round` : `${speedup.toFixed(2)}×`}`;
}

function speedupLine(stats: SpeculationStats): string {
    const verdict = speedupVerdict(stats);
    return "shown" in verdict ? `Speedup: ${verdict.shown.toFixed(2)}× (±${Math.round(verdict.margin * 100)}%)` : `Speedup: not shown: ${verdict.withheld}`;
}

/** Contiguous runs read better than long lists: `3–7, 9, 12–14`. */
export function formatSkipSet(layers: readonly number[]): string {
    if (layers.length === 0) return "none";
    const sorted = [...new Set(layers)].sort((a, b) => a - b);
    const runs: string[] = [];
    let start = sorted[0]!;
    let end = start;
    for (const layer of sorted.slice(1).concat(Number.NaN)) {
        if (layer === end + 1) {
            end = layer;
            continue;
        }
        runs.push(start === end ? `${start}` : `${start}–${end}`);
        start = end = layer;
    }
    return runs.join(", ");
}

export function presentStatus(view: StatusView): StatusPresentation {
    const parts = [`${icon(view)} CLaSp ${stateLabel(view)}`];
    if (view.stats && view.stats.requests > 0) parts.push(formatStats(view.stats));
    if (view.layerSkipNote) parts.push("no layer skip");
    const lines: string[] = [`**CLaSp Complete** — ${stateLabel(view)}`, ""];
    if (view.error) lines.push(`Error: ${view.error}`, "");
    const model = view.model;
    if (model) {
        lines.push(`Model: ${model.name} (${model.architecture}, ${model.layers} layers, ${model.hasFim ? "FIM" : noFimLabel})`);
        lines.push(`Backend: ${backendLabel(model.backend)}`);
        if (model.backendFallback) lines.push(model.backendFallback);
        if (view.layerSkipNote) lines.push(view.layerSkipNote);
    } else {
        lines.push("Model: none loaded");
    }
    const stats = view.stats;
    if (stats) {
        const skipped = stats.skipSet.length;
        const of = model ? ` of ${model.layers}` : "";
        lines.push(`Mode: ${stats.mode}${stats.speculating ? " (speculating)" : ""}`);
        lines.push(`Skip set: ${formatSkipSet(stats.skipSet)} (${skipped}${of} layers)`);
        lines.push(`Draft acceptance α: ${formatPercent(stats.acceptance)}, ${stats.meanAccepted.toFixed(2)} tokens per verify`);
        const plain = stats.plainTokensPerSecond === null ? "" : ` (plain ${stats.plainTokensPerSecond.toFixed(1)})`;
        lines.push(`Tokens/s: ${stats.tokensPerSecond.toFixed(1)}${plain}`);
        lines.push(speedupLine(stats));
        lines.push(`DP share: ${stats.dpSharePct.toFixed(1)}%`);
        lines.push(`Requests: ${stats.requests}`);
    }
    if (view.lastLatencyMs !== undefined) lines.push(`Last suggestion: ${Math.round(view.lastLatencyMs)} ms`);
    if (view.lastOutcome) lines.push(`Last request: ${view.lastOutcome}`);
    if (view.acceptance && view.acceptance.shown > 0) lines.push(`Accepted: ${formatAcceptance(view.acceptance)}`);
    lines.push("", "Click for the CLaSp menu (pause, language, settings, model, stats, why no suggestion?).");
    return { text: parts.join(" · "), tooltip: lines.join("  \n"), alarming: view.phase === "error" || view.phase === "noModel" };
}

export function backendLabel(backend: ModelInfo["backend"]): string {
    return { cuda: "CUDA", metal: "Metal", vulkan: "Vulkan", cpu: "CPU" }[backend];
}

/** What the model manager is doing that the engine cannot know about. */
export type ModelPhase = { kind: "downloading"; fraction?: number } | { kind: "noModel"; reason: string } | { kind: "error"; reason: string };

export interface StatusInputs {
    engineState: EngineState;
    modelPhase?: ModelPhase;
    paused: boolean;
    disabledLanguage?: string;
    busy: boolean;
    model?: ModelInfo;
    stats?: SpeculationStats;
    engineError?: string;
    lastLatencyMs?: number;
    lastOutcome?: string;
    acceptance?: AcceptanceSnapshot;
}

export function toStatusView(inputs: StatusInputs): StatusView {
    const phase: Phase = inputs.modelPhase?.kind ?? inputs.engineState;
    const modelPhase = inputs.modelPhase;
    return {
        phase,
        paused: inputs.paused,
        disabledLanguage: inputs.disabledLanguage,
        busy: inputs.busy,
        downloadFraction: modelPhase?.kind === "downloading" ? modelPhase.fraction : undefined,
        model: inputs.model,
        stats: inputs.stats,
        error: modelPhase && modelPhase.kind !== "downloading" ? modelPhase.reason : inputs.engineError,
        lastLatencyMs: inputs.lastLatencyMs,
        lastOutcome: inputs.lastOutcome,
        acceptance: inputs.acceptance,
    };
}
