// Whether the measured speedup is a number we can defend in front of the user. The engine measures
// it against plain decoding timed on the same model and machine; over a handful of short requests
// that ratio is noisy, and with speculation off there is nothing to measure. Until the interval is
// tight, and whenever speculation is off, the UI shows α and tokens per round and says why.
import type { SpeculationStats } from "../engine/protocol.ts";

/** The live speedup is shown once its 95 % interval is within this fraction of it. */
export const speedupShownWithin = 0.05;

export type SpeedupVerdict = { shown: number; margin: number } | { withheld: string };

export function speedupVerdict(stats: SpeculationStats): SpeedupVerdict {
    if (stats.mode === "off") return { withheld: "speculation is off (clasp.speculation.mode)" };
    if (!stats.speculating) return { withheld: "auto is decoding plainly: no draft pays on this model and machine right now" };
    if (stats.measuredSpeedup === null) return { withheld: "plain decoding is still being timed for the comparison" };
    const within = `${Math.round(speedupShownWithin * 100)}%`;
    if (stats.speedupMargin === null) return { withheld: `too few requests to measure it yet (shown once it is known within ±${within})` };
    if (stats.speedupMargin > speedupShownWithin)
        return { withheld: `${stats.measuredSpeedup.toFixed(2)}× ±${formatMargin(stats.speedupMargin)} so far; shown once it is known within ±${within}` };
    return { shown: stats.measuredSpeedup, margin: stats.speedupMargin };
}

function formatMargin(margin: number): string {
    return `${Math.round(margin * 100)}%`;
}

/** The speedup the status bar and the chart may show, or null. */
export function shownSpeedup(stats: SpeculationStats): number | null {
    const verdict = speedupVerdict(stats);
    return "shown" in verdict ? verdict.shown : null;
}
