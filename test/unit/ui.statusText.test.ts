import assert from "node:assert/strict";
import type { ModelInfo, SpeculationStats } from "../../src/engine/protocol.ts";
import { layerSkipUnavailable } from "../../src/ui/layerSkipText.ts";
import { formatSkipSet, formatStats, presentStatus, toStatusView, type StatusInputs } from "../../src/ui/statusText.ts";

const stats: SpeculationStats = {
    mode: "clasp",
    acceptance: 0.781,
    meanAccepted: 3.4,
    tokensPerSecond: 52.3,
    measuredSpeedup: 1.4249,
    speedupMargin: 0.03,
    plainTokensPerSecond: 36.7,
    dpSharePct: 2.5,
    skipSet: [9, 3, 4, 5, 12],
    requests: 7,
    speculating: true,
};

const model: ModelInfo = {
    path: "/m/a.gguf",
    name: "deepseek-coder-1.3b",
    architecture: "llama",
    layers: 24,
    embeddingSize: 2048,
    vocabularySize: 32256,
    contextSize: 4096,
    hasFim: true,
    supportsLayerSkip: true,
    patchedBuild: true,
    backend: "cuda",
};

const ready: StatusInputs = { engineState: "ready", paused: false, busy: false };

describe("status bar text", () => {
    it("shows the state and, with stats, acceptance and measured speedup", () => {
        assert.equal(presentStatus(toStatusView(ready)).text, "$(check) CLaSp ready");
        assert.equal(presentStatus(toStatusView({ ...ready, stats })).text, "$(check) CLaSp ready · α 78% · 1.42×");
    });

    it("shows α and tokens per round instead of a speedup it cannot defend, and says why in the tooltip", () => {
        const tooltip = (s: SpeculationStats) => presentStatus(toStatusView({ ...ready, stats: s })).tooltip;
        assert.match(tooltip(stats), /Speedup: 1\.42× \(±3%\)/);
        const withheld: [Partial<SpeculationStats>, RegExp][] = [
            [{ measuredSpeedup: null, speedupMargin: null }, /plain decoding is still being timed/],
            [{ speedupMargin: null }, /too few requests/],
            [{ speedupMargin: 0.12 }, /1\.42× ±12% so far; shown once it is known within ±5%/],
            [{ mode: "off", measuredSpeedup: 1, speedupMargin: 0 }, /speculation is off/],
            [{ mode: "auto", speculating: false, measuredSpeedup: 1.24, acceptance: 0, speedupMargin: 0.01 }, /auto is decoding plainly/],
        ];
        for (const [change, why] of withheld) {
            const s = { ...stats, ...change };
            assert.equal(formatStats(s), `α ${Math.round(s.acceptance * 100)}% · 3.4 tok/round`, JSON.stringify(change));
            assert.match(tooltip(s), new RegExp(`Speedup: not shown: .*${why.source}`), JSON.stringify(change));
        }
    });

    it("names every state a user can meet", () => {
        const text = (inputs: Partial<StatusInputs>) => presentStatus(toStatusView({ ...ready, ...inputs })).text;
        assert.match(text({ engineState: "loading" }), /CLaSp loading/);
        assert.match(text({ paused: true }), /CLaSp paused/);
        assert.match(text({ disabledLanguage: "markdown" }), /CLaSp off \(markdown\)/);
        assert.match(text({ busy: true }), /CLaSp thinking/);
        assert.match(text({ modelPhase: { kind: "downloading", fraction: 0.427 } }), /CLaSp downloading 42%/);
        assert.match(text({ modelPhase: { kind: "noModel", reason: "none" } }), /CLaSp no model/);
        assert.match(text({ engineState: "error", engineError: "crashed" }), /CLaSp error/);
    });

    it("says in the tooltip whether the model fills in the middle or completes from the prefix only", () => {
        assert.match(presentStatus(toStatusView({ ...ready, model })).tooltip, /Model: deepseek-coder-1\.3b \(llama, 24 layers, FIM\)/);
        const smollm2 = { ...model, name: "SmolLM2-135M-Instruct", layers: 30, hasFim: false };
        assert.match(presentStatus(toStatusView({ ...ready, model: smollm2 })).tooltip, /Model: SmolLM2-135M-Instruct \(llama, 30 layers, no FIM tokens: prefix-only\)/);
    });

    it("says why layer skip is off on a model whose architecture the patch does not handle (Gemma 3)", () => {
        const gemma = { ...model, architecture: "gemma3", patchedBuild: true, supportsLayerSkip: false,
            layerSkipOff: 'layer skip is unavailable on this model (CLaSp layer skip is not supported for the "gemma3" architecture); clasp and hybrid draft by prompt lookup instead' };
        assert.equal(layerSkipUnavailable(gemma), 'Layer skip is unavailable on this model (CLaSp layer skip is not supported for the "gemma3" architecture); clasp and hybrid draft by prompt lookup instead.');
        assert.equal(layerSkipUnavailable({ ...model, patchedBuild: true }), undefined);
    });

    it("puts model, backend, skip set, tokens/s and DP share in the tooltip", () => {
        const { tooltip } = presentStatus(toStatusView({ ...ready, stats, model }));
        assert.match(tooltip, /deepseek-coder-1\.3b/);
        assert.match(tooltip, /Backend: CUDA/);
        assert.match(tooltip, /Skip set: 3–5, 9, 12 \(5 of 24 layers\)/);
        assert.match(tooltip, /Tokens\/s: 52\.3 \(plain 36\.7\)/);
        assert.match(tooltip, /DP share: 2\.5%/);
    });

    it("says why the backend is the CPU when clasp.gpu asked for a GPU this install cannot run", () => {
        const backendFallback = 'clasp.gpu is "cuda", but no cuda binary runs here (none shipped); running on the CPU.';
        const { tooltip } = presentStatus(toStatusView({ ...ready, model: { ...model, backend: "cpu", backendFallback } }));
        assert.match(tooltip, /Backend: CPU\s+clasp\.gpu is "cuda", but no cuda binary runs here/);
    });

    it("tells the last request's outcome in the tooltip", () => {
        assert.match(presentStatus(toStatusView({ ...ready, lastOutcome: "filtered" })).tooltip, /Last request: filtered/);
    });

    it("shows a model phase error over the engine state and flags it", () => {
        const presentation = presentStatus(toStatusView({ ...ready, modelPhase: { kind: "error", reason: "Model file not found: /x" } }));
        assert.match(presentation.tooltip, /Model file not found/);
        assert.equal(presentation.alarming, true);
    });

    it("formats skip sets as runs", () => {
        assert.equal(formatSkipSet([]), "none");
        assert.equal(formatSkipSet([1, 2, 3, 7, 8, 10]), "1–3, 7–8, 10");
    });
});
