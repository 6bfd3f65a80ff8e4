// Two-way sync between the settings panel and the `clasp.speculation.*` settings, as pure
// functions: what the panel shows for a config, which setting a panel message writes (validated
// and clamped, since a webview is untrusted input), and whether the write is needed at all
// (a value echoed back from the settings must not be written again, or the two sides loop).
import type { Config, SpeculationKnob } from "../config.ts";
import { clampNumber, speculationBounds, speculationModes } from "../config.ts";
import type { SpeculationMode, SpeculationSettings } from "../engine/protocol.ts";

export type PanelValues = SpeculationSettings;

export type PanelKey = keyof SpeculationSettings;

/** Messages the extension sends to the panel. */
export type ToPanel =
    | { type: "settings"; values: PanelValues }
    | { type: "stats"; points: { at: number; acceptance: number; speedup: number | null; tokensPerSecond: number }[] }
    | { type: "status"; text: string };

export interface SettingWrite {
    /** Key under the `clasp` section. */
    key: string;
    value: number | SpeculationMode;
}

export function panelValues(config: Config): PanelValues {
    return { ...config.speculation };
}

const knobs = Object.keys(speculationBounds) as SpeculationKnob[];

/** Turns an untrusted panel message into a setting write, or explains why it is refused. */
export function settingWriteFor(message: unknown): SettingWrite | { error: string } {
    if (message === null || typeof message !== "object") return { error: "not an object" };
    const { type, key, value } = message as { type?: unknown; key?: unknown; value?: unknown };
    if (type !== "change") return { error: `unexpected message type ${String(type)}` };
    if (key === "mode") {
        if (!speculationModes.includes(value as SpeculationMode)) return { error: `unknown speculation mode ${String(value)}` };
        return { key: "speculation.mode", value: value as SpeculationMode };
    }
    if (!knobs.includes(key as SpeculationKnob)) return { error: `unknown setting ${String(key)}` };
    const bounds = speculationBounds[key as SpeculationKnob];
    const number = typeof value === "string" ? Number(value) : value;
    if (typeof number !== "number" || !Number.isFinite(number)) return { error: `${String(key)} must be a number` };
    const clamped = clampNumber(number, bounds.min, bounds.max, number);
    // Snap to the control's step so float noise from a range input (0.30000000000000004) is not stored.
    const stepped = Math.round(clamped / bounds.step) * bounds.step;
    const decimals = bounds.step < 1 ? 2 : 0;
    return { key: `speculation.${String(key)}`, value: Number(stepped.toFixed(decimals)) };
}

export function isWriteNeeded(config: Config, write: SettingWrite): boolean {
    const knob = write.key.slice("speculation.".length) as PanelKey;
    return config.speculation[knob] !== write.value;
}

/** Where a write goes: the most specific scope that already sets the key, else the user's settings. */
export type WriteTarget = "global" | "workspace" | "workspaceFolder";

export function writeTargetFor(inspected: { workspaceValue?: unknown; workspaceFolderValue?: unknown } | undefined): WriteTarget {
    if (inspected?.workspaceFolderValue !== undefined) return "workspaceFolder";
    if (inspected?.workspaceValue !== undefined) return "workspace";
    return "global";
}
