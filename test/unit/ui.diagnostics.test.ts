import assert from "node:assert/strict";
import { RequestLog, type RequestRecord } from "../../src/completion/requestLog.ts";
import { explainBlockers, formatRecord } from "../../src/ui/diagnosticsText.ts";

const record = (outcome: RequestRecord["outcome"], at: number): RequestRecord => ({
    at,
    file: "/w/src/a.ts",
    languageId: "typescript",
    line: 4,
    character: 2,
    outcome,
    detail: "engine stop: eog",
    latencyMs: 123,
});

describe("why no suggestion", () => {
    it("names each condition that blocks every suggestion", () => {
        assert.deepEqual(explainBlockers({ inlineSuggestEnabled: true, paused: false, languageEnabled: true, engineState: "ready" }), []);
        const all = explainBlockers({ inlineSuggestEnabled: false, paused: true, languageId: "markdown", languageEnabled: false, engineState: "loading" });
        assert.equal(all.length, 4);
        assert.match(all[0]!, /inlineSuggest\.enabled/);
        assert.match(all.join(" "), /loading/);
        assert.match(all.join(" "), /paused/);
        assert.match(all.join(" "), /markdown/);
    });

    it("lists records newest first, bounded, with file position and latency", () => {
        const log = new RequestLog(3);
        for (let i = 0; i < 5; i++) log.add(record(i % 2 ? "cancelled" : "shown", i));
        assert.deepEqual(log.recent().map((r) => r.at), [4, 3, 2]);
        const line = formatRecord({ ...record("filtered", 0), preview: "foo()\nbar()" });
        assert.match(line.label, /filtered/);
        assert.equal(line.description, "a.ts:5:3 · 123 ms");
        assert.match(line.detail, /"foo\(\)"$/);
    });

    it("notifies listeners of each new record", () => {
        const log = new RequestLog();
        const seen: string[] = [];
        const stop = log.onRecord((r) => seen.push(r.outcome));
        log.add(record("shown", 1));
        stop();
        log.add(record("error", 2));
        assert.deepEqual(seen, ["shown"]);
    });
});
