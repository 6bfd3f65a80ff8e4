// A bounded time series of the engine's rolling stats, for the settings panel's live chart and
// the stats view. Only numbers go in, so it crosses into the webview as plain JSON.
import type { SpeculationStats } from "../engine/protocol.ts";

export interface StatsPoint {
    at: number;
    acceptance: number;
    /** Null until the engine has timed plain decoding to compare against. */
    speedup: number | null;
    tokensPerSecond: number;
}

export class StatsHistory {
    private points: StatsPoint[] = [];
    latest: SpeculationStats | undefined;

    constructor(private readonly capacity = 120) {}

    add(stats: SpeculationStats, at: number): StatsPoint {
        this.latest = stats;
        const point = { at, acceptance: stats.acceptance, speedup: stats.measuredSpeedup, tokensPerSecond: stats.tokensPerSecond };
        this.points.push(point);
        if (this.points.length > this.capacity) this.points.splice(0, this.points.length - this.capacity);
        return point;
    }

    series(): readonly StatsPoint[] {
        return this.points;
    }
}
