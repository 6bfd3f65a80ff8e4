// A bounded time series of the engine's rolling stats, for the settings panel's live chart and
// the stats view. Only numbers go in, so it crosses into the webview as plain JSON.
import type { SpeculationStats } from "../engine/protocol.ts";
import { shownSpeedup } from "./speedupVerdict.ts";

export interface StatsPoint {
    at: number;
    acceptance: number;
    /** Null while the speedup is not known within ±5 % or speculation is off (see speedupVerdict.ts). */
    speedup: number | null;
    tokensPerSecond: number;
}

export class StatsHistory {
    private points: StatsPoint[] = [];
    latest: SpeculationStats | undefined;

    constructor(private readonly capacity = 120) {}

    add(stats: SpeculationStats, at: number): StatsPoint {
        this.latest = stats;
        const point = { at, acceptance: stats.acceptance, speedup: shownSpeedup(stats), tokensPerSecond: stats.tokensPerSecond };
        this.points.push(point);
        if (this.points.length > this.capacity) this.points.splice(0, this.points.length - this.capacity);
        return point;
    }

    series(): readonly StatsPoint[] {
        return this.points;
    }
}
