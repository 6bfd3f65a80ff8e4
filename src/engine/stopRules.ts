// Early stop rules checked while tokens stream in, so the engine stops paying for text the
// editor would throw away. (The extension applies finer post-processing on what comes back.)
import type { StopReason } from "./protocol.ts";

export interface StopContext {
    suffix: string;
    maxLines: number;
    singleLine: boolean;
}

export interface StopDecision {
    /** The text to keep (may be shorter than what was generated). */
    text: string;
    reason?: StopReason;
}

export function checkStop(generated: string, context: StopContext): StopDecision {
    if (context.singleLine) {
        const newline = generated.indexOf("\n");
        if (newline >= 0) return { text: generated.slice(0, newline), reason: "singleLine" };
    }
    const overlap = suffixOverlapAt(generated, context.suffix);
    if (overlap >= 0) return { text: generated.slice(0, overlap), reason: "suffixOverlap" };
    const lines = generated.split("\n");
    // A line counts once it is complete, so `maxLines` full lines end the completion.
    if (lines.length > context.maxLines)
        return { text: lines.slice(0, context.maxLines).join("\n"), reason: "maxLines" };
    return { text: generated };
}

/**
 * Index of the first complete generated line that repeats the first non-blank line of the
 * suffix (the model is re-typing code that already follows the cursor), or -1.
 */
function suffixOverlapAt(generated: string, suffix: string): number {
    const target = suffix.split("\n").map((line) => line.trim()).find((line) => line.length > 0);
    if (!target || target.length < 2) return -1;
    let lineStart = 0;
    for (;;) {
        const end = generated.indexOf("\n", lineStart);
        if (end < 0) return -1;
        if (generated.slice(lineStart, end).trim() === target) return lineStart === 0 ? 0 : lineStart - 1;
        lineStart = end + 1;
    }
}
