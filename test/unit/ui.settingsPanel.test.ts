import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { renderSettingsHtml } from "../../src/ui/settingsHtml.ts";
import { StatsHistory } from "../../src/ui/statsHistory.ts";
import { statsReport } from "../../src/ui/statsReport.ts";
import type { SpeculationStats } from "../../src/engine/protocol.ts";

const template = readFileSync(new URL("../../media/settings.html", import.meta.url), "utf8");
const resources = { cspSource: "vscode-resource:", nonce: "n0nce+/=", styleUri: "res://settings.css", scriptUri: "res://settings.js" };

describe("settings panel page", () => {
    const html = renderSettingsHtml(template, resources);

    it("has the fixed title and a 0–0.8 range input with id skipRatio", () => {
        assert.match(html, /<title>CLaSp Settings<\/title>/);
        const slider = /<input type="range" id="skipRatio"[^>]*>/.exec(html)?.[0];
        assert.ok(slider, "no skipRatio range input");
        assert.match(slider, /min="0"/);
        assert.match(slider, /max="0.8"/);
    });

    it("has a strict CSP: no inline or remote code, scripts only with the nonce", () => {
        const csp = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1];
        assert.ok(csp, "no CSP meta tag");
        assert.match(csp, /default-src 'none'/);
        assert.match(csp, /script-src 'nonce-n0nce\+\/='/);
        assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
        const scripts = html.match(/<script\b[^>]*>/g) ?? [];
        assert.ok(scripts.length > 0);
        for (const tag of scripts) assert.match(tag, /nonce="n0nce\+\/="/);
        assert.doesNotMatch(html, /<style|style="|https?:\/\//);
    });

    it("leaves no placeholder unfilled and rejects an unknown one", () => {
        assert.doesNotMatch(html, /\{\{/);
        assert.throws(() => renderSettingsHtml("{{bogus}}", resources), /bogus/);
    });

    it("styles only with theme variables (readable in light, dark and high contrast)", () => {
        const css = readFileSync(new URL("../../media/settings.css", import.meta.url), "utf8");
        assert.doesNotMatch(css.replace(/var\([^)]*\)/g, ""), /#[0-9a-f]{3,8}\b|rgb\(/i);
        assert.match(css, /--vscode-contrastBorder/);
    });
});

describe("stats report", () => {
    it("reports the latest stats and recent samples", () => {
        const history = new StatsHistory(3);
        const stats: SpeculationStats = {
            mode: "hybrid", acceptance: 0.5, meanAccepted: 2, tokensPerSecond: 40, measuredSpeedup: null, speedupMargin: null,
            plainTokensPerSecond: null, dpSharePct: 1, skipSet: [1, 2], requests: 3, speculating: false,
        };
        assert.match(statsReport(history, undefined, 0), /No requests yet/);
        for (let i = 0; i < 5; i++) history.add({ ...stats, acceptance: i / 10 }, i * 1000);
        assert.equal(history.series().length, 3);
        const report = statsReport(history, undefined, 5000);
        assert.match(report, /\| Acceptance α \| 40% \|/);
        assert.match(report, /\| Measured speedup \| not measured yet \|/);
        assert.match(report, /\| 1 \| 40% \| – \| 40\.0 \|/);
        assert.match(statsReport(history, undefined, 5000, { shown: 2, accepted: 1, acceptedChars: 9 }), /accepted this session: 1 of 2 suggestions \(50%\)/);
    });
});
