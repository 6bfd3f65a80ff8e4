// One typed view of the `clasp.*` settings. Reading goes through a tiny `SettingsReader` (which
// `vscode.WorkspaceConfiguration` satisfies) so this module stays free of the `vscode` import
// and every default and clamp is unit-testable.
import type { GpuChoice, SpeculationMode, SpeculationSettings } from "./engine/protocol.ts";
import { defaultSpeculationSettings } from "./engine/protocol.ts";
import type { LanguageEnableMap } from "./completion/languageFilter.ts";
import { defaultIdleExitMinutes } from "./engine/service/location.ts";

export interface SettingsReader {
    get<T>(key: string): T | undefined;
    inspect?<T>(key: string): { globalValue?: T; defaultValue?: T } | undefined;
}

export interface CompletionConfig {
    maxTokens: number;
    maxLines: number;
    debounceMs: number;
    timeoutMs: number;
    /** Token budget for snippets from other open files; 0 turns the feature off. */
    extraContext: number;
    /** Evaluate the prompt into the engine's cache on every edit, so ghost text after the last keystroke starts warm. */
    warmWhileTyping: boolean;
}

export interface Config {
    /** Path or URI of the model; empty means the default model. */
    model: string;
    enable: LanguageEnableMap;
    paused: boolean;
    gpu: GpuChoice;
    contextSize: number;
    threads: number;
    speculation: SpeculationSettings;
    completion: CompletionConfig;
    engine: {
        /** Minutes the shared engine stays after its last window leaves (0: it exits at once). */
        idleExitMinutes: number;
    };
}

export const defaultCompletionConfig: CompletionConfig = {
    maxTokens: 128,
    maxLines: 12,
    // VS Code itself waits 50 ms before asking; this comes on top.
    debounceMs: 75,
    timeoutMs: 1500,
    extraContext: 512,
    warmWhileTyping: true,
};

export const speculationModes: readonly SpeculationMode[] = ["off", "clasp", "lookup", "hybrid", "auto"];
export const gpuChoices: readonly GpuChoice[] = ["auto", "cuda", "metal", "vulkan", "cpu"];

/** Inclusive bounds shared by the manifest, the reader and the settings panel. */
export const speculationBounds = {
    skipRatio: { min: 0, max: 0.8, step: 0.05 },
    maxDraftTokens: { min: 1, max: 32, step: 1 },
    minConfidence: { min: 0, max: 1, step: 0.05 },
    updateInterval: { min: 1, max: 1024, step: 1 },
} as const;

export type SpeculationKnob = keyof typeof speculationBounds;

export function clampNumber(value: unknown, min: number, max: number, fallback: number): number {
    if (typeof value !== "number" || !Number.isFinite(value)) return fallback;
    return Math.min(max, Math.max(min, value));
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], fallback: T): T {
    return allowed.includes(value as T) ? (value as T) : fallback;
}

function readEnableMap(value: unknown): LanguageEnableMap {
    if (value === null || typeof value !== "object" || Array.isArray(value)) return { "*": true };
    const map: LanguageEnableMap = {};
    for (const [language, enabled] of Object.entries(value)) if (typeof enabled === "boolean") map[language] = enabled;
    return map;
}

/**
 * The model path is machine-scoped: only the user's own (global) value counts, so a workspace's
 * settings can never point the engine at a file of its choosing.
 */
function readModel(reader: SettingsReader): string {
    const inspected = reader.inspect?.<string>("model");
    const value = inspected ? inspected.globalValue : reader.get<string>("model");
    return typeof value === "string" ? value.trim() : "";
}

export function readConfig(reader: SettingsReader): Config {
    const d = defaultSpeculationSettings;
    const c = defaultCompletionConfig;
    const b = speculationBounds;
    return {
        model: readModel(reader),
        enable: readEnableMap(reader.get("enable")),
        paused: reader.get("paused") === true,
        gpu: oneOf(reader.get("gpu"), gpuChoices, "auto"),
        contextSize: Math.round(clampNumber(reader.get("contextSize"), 256, 131072, 4096)),
        threads: Math.round(clampNumber(reader.get("threads"), 0, 256, 0)),
        speculation: {
            mode: oneOf(reader.get("speculation.mode"), speculationModes, d.mode),
            skipRatio: clampNumber(reader.get("speculation.skipRatio"), b.skipRatio.min, b.skipRatio.max, d.skipRatio),
            maxDraftTokens: Math.round(
                clampNumber(reader.get("speculation.maxDraftTokens"), b.maxDraftTokens.min, b.maxDraftTokens.max, d.maxDraftTokens),
            ),
            minConfidence: clampNumber(
                reader.get("speculation.minConfidence"), b.minConfidence.min, b.minConfidence.max, d.minConfidence,
            ),
            updateInterval: Math.round(
                clampNumber(reader.get("speculation.updateInterval"), b.updateInterval.min, b.updateInterval.max, d.updateInterval),
            ),
        },
        completion: {
            maxTokens: Math.round(clampNumber(reader.get("completion.maxTokens"), 1, 2048, c.maxTokens)),
            maxLines: Math.round(clampNumber(reader.get("completion.maxLines"), 1, 200, c.maxLines)),
            debounceMs: Math.round(clampNumber(reader.get("completion.debounceMs"), 0, 2000, c.debounceMs)),
            timeoutMs: Math.round(clampNumber(reader.get("completion.timeoutMs"), 50, 60000, c.timeoutMs)),
            extraContext: Math.round(clampNumber(reader.get("completion.extraContext"), 0, 8192, c.extraContext)),
            warmWhileTyping: reader.get("completion.warmWhileTyping") !== false,
        },
        engine: {
            idleExitMinutes: clampNumber(reader.get("engine.idleExitMinutes"), 0, 1440, defaultIdleExitMinutes),
        },
    };
}
