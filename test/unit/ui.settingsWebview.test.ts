// Runs the settings panel's own script (media/settings.js) against a minimal stand-in for the
// webview DOM, to check its half of the two-way sync and the chart.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import vm from "node:vm";

type Listener = (event?: unknown) => void;

class FakeElement {
    value = "";
    textContent = "";
    private listeners = new Map<string, Listener[]>();
    constructor(
        readonly id: string,
        readonly type = "",
        readonly dataset: Record<string, string> = {},
    ) {}
    addEventListener(type: string, listener: Listener) {
        this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
    }
    fire(type: string) {
        for (const listener of this.listeners.get(type) ?? []) listener();
    }
}

function loadPanel() {
    const controls = [
        new FakeElement("mode", "select-one", { key: "mode" }),
        new FakeElement("skipRatio", "range", { key: "skipRatio" }),
        new FakeElement("maxDraftTokens", "number", { key: "maxDraftTokens" }),
        new FakeElement("minConfidence", "range", { key: "minConfidence" }),
        new FakeElement("updateInterval", "number", { key: "updateInterval" }),
    ];
    const lineTos: number[][] = [];
    const context2d = new Proxy(
        { lineTo: (x: number, y: number) => lineTos.push([x, y]) } as Record<string, unknown>,
        { get: (target, name) => target[name as string] ?? (() => undefined), set: () => true },
    );
    const canvas = Object.assign(new FakeElement("chart"), { clientWidth: 640, width: 0, height: 0, getContext: () => context2d });
    const others = ["skipRatioValue", "minConfidenceValue", "status", "chartSummary"].map((id) => new FakeElement(id));
    const byId = new Map([...controls, canvas, ...others].map((e) => [e.id, e]));
    const windowListeners: Listener[] = [];
    const posted: unknown[] = [];
    const sandbox = {
        // Copied out of the sandbox's realm so deepEqual compares plain objects.
        acquireVsCodeApi: () => ({ postMessage: (message: unknown) => posted.push(JSON.parse(JSON.stringify(message))) }),
        document: { querySelectorAll: () => controls, getElementById: (id: string) => byId.get(id) ?? null, body: {} },
        window: {
            devicePixelRatio: 1,
            addEventListener: (type: string, listener: Listener) => type === "message" && windowListeners.push(listener),
        },
        getComputedStyle: () => ({ getPropertyValue: () => "" }),
        MutationObserver: class { observe() {} },
    };
    vm.runInNewContext(readFileSync(new URL("../../media/settings.js", import.meta.url), "utf8"), sandbox);
    const send = (data: unknown) => windowListeners.forEach((listener) => listener({ data }));
    return { controls: Object.fromEntries(controls.map((c) => [c.id, c])), byId, posted, send, lineTos };
}

const values = { mode: "clasp", skipRatio: 0.35, maxDraftTokens: 6, minConfidence: 0.8, updateInterval: 16 };

describe("settings panel script", () => {
    it("announces itself, then shows the values the extension sends", () => {
        const panel = loadPanel();
        assert.deepEqual(panel.posted, [{ type: "ready" }]);
        panel.send({ type: "settings", values });
        assert.equal(panel.controls.mode!.value, "clasp");
        assert.equal(panel.controls.skipRatio!.value, "0.35");
        assert.equal(panel.controls.updateInterval!.value, "16");
        assert.equal(panel.byId.get("skipRatioValue")!.textContent, "35% of layers");
    });

    it("sends a moved slider as a number, and a chosen mode as text", () => {
        const panel = loadPanel();
        panel.controls.skipRatio!.value = "0.65";
        panel.controls.skipRatio!.fire("change");
        panel.controls.mode!.value = "lookup";
        panel.controls.mode!.fire("change");
        assert.deepEqual(panel.posted.slice(1), [
            { type: "change", key: "skipRatio", value: 0.65 },
            { type: "change", key: "mode", value: "lookup" },
        ]);
    });

    it("does not yank a slider the user is holding, but updates the other controls", () => {
        const panel = loadPanel();
        panel.controls.skipRatio!.fire("focus");
        panel.controls.skipRatio!.value = "0.6";
        panel.send({ type: "settings", values });
        assert.equal(panel.controls.skipRatio!.value, "0.6");
        assert.equal(panel.controls.maxDraftTokens!.value, "6");
        panel.controls.skipRatio!.fire("blur");
        panel.send({ type: "settings", values });
        assert.equal(panel.controls.skipRatio!.value, "0.35");
    });

    it("charts the stats it receives and summarises the latest point", () => {
        const panel = loadPanel();
        panel.send({
            type: "stats",
            points: [
                { at: 1, acceptance: 0.5, speedup: null, tokensPerSecond: 20 },
                { at: 2, acceptance: 0.8, speedup: 1.5, tokensPerSecond: 30 },
            ],
        });
        assert.ok(panel.lineTos.length >= 1, "no line was drawn");
        assert.equal(panel.byId.get("chartSummary")!.textContent, "Latest: acceptance 80%, speedup 1.50×, 30.0 tokens/s");
    });
});
