// The engine's public contract: what the extension (over IPC), the CLI, the benchmark and the
// tests (in-process) may ask of it, and the events it streams back. Plain data only, so every
// type here survives structured cloning across the process boundary.
import type { StopRule } from "../text/stopRules.ts";

export type SpeculationMode = "off" | "clasp" | "lookup" | "hybrid" | "auto";

export type GpuChoice = "auto" | "cuda" | "metal" | "vulkan" | "cpu";

/** The CLaSp knobs a user can turn (settings panel, `clasp.*` settings). */
export interface SpeculationSettings {
    mode: SpeculationMode;
    /** Fraction of decoder layers the draft skips (M = round(ratio · L)), 0–0.8. */
    skipRatio: number;
    /** Upper bound on draft tokens per round. */
    maxDraftTokens: number;
    /** Draft early exit: stop drafting when the draft's top-1 probability drops below this. */
    minConfidence: number;
    /** Re-run the layer-selection DP every this many verify rounds (sparse persistence). */
    updateInterval: number;
}

export const defaultSpeculationSettings: SpeculationSettings = {
    mode: "auto",
    skipRatio: 0.5,
    maxDraftTokens: 8,
    minConfidence: 0.7,
    updateInterval: 32,
};

export interface LoadOptions {
    /** Absolute path of a GGUF file (already resolved/downloaded). */
    modelPath: string;
    gpu?: GpuChoice;
    contextSize?: number;
    threads?: number;
    /** Use the CLaSp-patched native build (required for layer-skip modes). */
    requireClaspBuild?: boolean;
}

/** How the CLI and the status bar say that a model completes from the prefix alone (the suffix still drives the stop rules). */
export const noFimLabel = "no FIM tokens: prefix-only";

export interface ModelInfo {
    path: string;
    name: string;
    architecture: string;
    layers: number;
    embeddingSize: number;
    vocabularySize: number;
    contextSize: number;
    /** FIM tokens found in the model's vocabulary (never guessed from the file name). */
    hasFim: boolean;
    supportsLayerSkip: boolean;
    /** The CLaSp-patched llama.cpp is loaded; false: node-llama-cpp's own binary, so plain and lookup decoding only. */
    patchedBuild: boolean;
    /** Why every mode decodes plainly on this model (a recurrent or hybrid architecture); absent when speculation may run. */
    speculationOff?: string;
    /**
     * Why layer-skip drafts cannot run on this model although the patched build is loaded (its
     * architecture is not one the patch handles): `clasp` and `hybrid` then draft by prompt lookup.
     */
    layerSkipOff?: string;
    backend: "cuda" | "metal" | "vulkan" | "cpu";
    /** Why the backend is the CPU though clasp.gpu asked for a GPU (no binary for it here). */
    backendFallback?: string;
}

export interface CompletionRequest {
    /** Text before the cursor (the engine keeps only what fits its budget). */
    prefix: string;
    /** Text after the cursor. */
    suffix: string;
    /** Snippets from other files, placed before the prefix within a token budget. */
    extraContext?: { path: string; text: string }[];
    filePath?: string;
    languageId?: string;
    maxTokens?: number;
    maxLines?: number;
    /** Stop generating after this many milliseconds (the text so far is returned). */
    timeoutMs?: number;
    temperature?: number;
    seed?: number;
    /** Stop at the first newline (used when text follows the cursor on its line). */
    singleLine?: boolean;
    /** Override the configured speculation mode for this request. */
    mode?: SpeculationMode;
    /**
     * Only evaluate the prompt into the caller's KV cache (the answer is empty, stop reason
     * "prefilled"): a window warms the cache while its user types, so the request after the last
     * keystroke has little left to prefill. The budget still comes from maxTokens, so the prompt
     * is the one that request will lay out.
     */
    prefillOnly?: boolean;
}

/** Why generation ended: the model's end token, a limit, or the stop rule that ended the construct. */
export type StopReason = "eog" | "maxTokens" | "timeout" | "abort" | "prefilled" | StopRule;

export interface RequestTimings {
    promptTokens: number;
    /** Prompt tokens whose KV cache was reused from the previous request. */
    reusedTokens: number;
    /** Laying out and tokenizing the prompt (completions only; before `promptMs` starts). */
    promptBuildMs?: number;
    promptMs: number;
    firstTokenMs: number;
    totalMs: number;
    tokensPerSecond: number;
}

export interface CompletionResult {
    /**
     * The model's text up to where generation stopped. Callers apply `applyStopRules`
     * (src/text/stopRules.ts) with the document's context to get what to show.
     */
    text: string;
    generatedTokens: number;
    stopReason: StopReason;
    usedFim: boolean;
    timings: RequestTimings;
    speculation?: RequestSpeculationStats;
}

/** Free-form generation (the "CLaSp: Generate" command): streamed through progress events. */
export interface GenerateRequest {
    prompt: string;
    maxTokens?: number;
    temperature?: number;
    seed?: number;
    mode?: SpeculationMode;
}

export interface RequestSpeculationStats {
    mode: SpeculationMode;
    rounds: number;
    draftedTokens: number;
    acceptedTokens: number;
    /** acceptedTokens / draftedTokens. */
    acceptance: number;
    /** Tokens emitted per verify round (accepted drafts + the model's own token). */
    meanAccepted: number;
    dpRuns: number;
    dpMs: number;
    /** Indices of the layers the draft currently skips. */
    skipSet: number[];
}

/** Rolling statistics streamed as `stats` events. */
export interface SpeculationStats {
    mode: SpeculationMode;
    acceptance: number;
    meanAccepted: number;
    tokensPerSecond: number;
    /**
     * Plain decoding's predicted time for the same requests (from timed plain runs on this model
     * and machine) divided by their actual time; null until calibrated.
     */
    measuredSpeedup: number | null;
    /**
     * Relative half-width of measuredSpeedup's 95 % interval over the window (0.05: ±5 %); null
     * until enough requests were compared. The UI shows the speedup only once this is tight.
     */
    speedupMargin: number | null;
    /** Plain decoding's tokens/s over the same requests, so tokensPerSecond / this = speedup. */
    plainTokensPerSecond: number | null;
    dpSharePct: number;
    skipSet: number[];
    requests: number;
    /** Whether the controller currently predicts speculation pays (auto mode). */
    speculating: boolean;
}

export type EngineState = "stopped" | "starting" | "loading" | "ready" | "error";

export interface EngineStatus {
    state: EngineState;
    model?: ModelInfo;
    error?: string;
}

export interface DownloadRequest {
    uri: string;
    directory: string;
}

export interface DownloadProgress {
    downloadedBytes: number;
    totalBytes: number;
}

/** Requests the engine answers. Each key maps a method to its parameter and result. */
export interface EngineMethods {
    load: { params: LoadOptions; result: ModelInfo };
    unload: { params: void; result: void };
    complete: { params: CompletionRequest; result: CompletionResult };
    generate: { params: GenerateRequest; result: CompletionResult };
    configure: { params: Partial<SpeculationSettings>; result: SpeculationSettings };
    status: { params: void; result: EngineStatus };
    download: { params: DownloadRequest; result: { path: string } };
}

/** Events the engine streams without being asked. */
export interface EngineEvents {
    status: EngineStatus;
    stats: SpeculationStats;
    log: { level: "debug" | "info" | "warn" | "error"; message: string };
}

/** Per-request progress payloads (streamed text for generate, bytes for download). */
export type ProgressPayload = { text: string } | DownloadProgress;
