// The markdown of the stats view (no `vscode` import, so it is unit-tested).
import type { AcceptanceSnapshot } from "../completion/acceptanceStats.ts";
import { formatAcceptance } from "../completion/acceptanceStats.ts";
import type { ModelInfo, SpeculationStats } from "../engine/protocol.ts";
import type { StatsHistory } from "./statsHistory.ts";
import { backendLabel, formatPercent, formatSkipSet } from "./statusText.ts";
import { speedupVerdict } from "./speedupVerdict.ts";

function speedupShownText(stats: SpeculationStats): string {
    const verdict = speedupVerdict(stats);
    return "shown" in verdict ? "shown" : `not shown: ${verdict.withheld}`;
}

export function statsReport(history: StatsHistory, model: ModelInfo | undefined, now: number, acceptance?: AcceptanceSnapshot): string {
    const lines = ["# CLaSp statistics", ""];
    lines.push(model ? `Model: **${model.name}** · ${model.architecture} · ${model.layers} layers · ${backendLabel(model.backend)}` : "No model loaded.");
    if (acceptance && acceptance.shown > 0) lines.push("", `Suggestions accepted this session: ${formatAcceptance(acceptance)}`);
    const s = history.latest;
    if (!s) return [...lines, "", "No requests yet: stats appear after the first completion."].join("\n");
    lines.push(
        "",
        "| Metric | Value |",
        "|---|---|",
        `| Mode | ${s.mode}${s.speculating ? " (speculating)" : ""} |`,
        `| Acceptance α | ${formatPercent(s.acceptance)} |`,
        `| Tokens per verify round | ${s.meanAccepted.toFixed(2)} |`,
        `| Tokens/s | ${s.tokensPerSecond.toFixed(1)} |`,
        `| Plain decoding tokens/s | ${s.plainTokensPerSecond === null ? "not measured yet" : s.plainTokensPerSecond.toFixed(1)} |`,
        `| Measured speedup | ${s.measuredSpeedup === null ? "not measured yet" : `${s.measuredSpeedup.toFixed(2)}×${s.speedupMargin === null ? "" : ` ±${Math.round(s.speedupMargin * 100)}%`}`} |`,
        `| Speedup in the status bar | ${speedupShownText(s)} |`,
        `| DP share of time | ${s.dpSharePct.toFixed(1)}% |`,
        `| Skipped layers | ${formatSkipSet(s.skipSet)} (${s.skipSet.length}) |`,
        `| Requests | ${s.requests} |`,
    );
    const recent = history.series().slice(-10).reverse();
    if (recent.length > 0) {
        lines.push("", "## Recent samples", "", "| Seconds ago | α | Speedup | Tokens/s |", "|---|---|---|---|");
        for (const p of recent)
            lines.push(
                `| ${Math.round((now - p.at) / 1000)} | ${formatPercent(p.acceptance)} | ${p.speedup === null ? "–" : `${p.speedup.toFixed(2)}×`} | ${p.tokensPerSecond.toFixed(1)} |`,
            );
    }
    return lines.join("\n");
}
