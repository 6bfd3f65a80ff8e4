import assert from "node:assert/strict";
import { formatTiming, parseTiming, timedOutInPrefill } from "../../src/completion/requestTiming.ts";

describe("request timing in the request log", () => {
    it("reads back what it wrote, inside a whole log line", () => {
        const timing = { debounceMs: 75, roundTripMs: 212, engineMs: 190, promptBuildMs: 3.5, prefillMs: 41.2, firstTokenMs: 57.9 };
        const line = `completion shown at a.ts:3:5 in 301 ms — engine stop: newline, 9 tokens; ${formatTiming(timing)}; stop rules: x`;
        assert.deepEqual(parseTiming(line), timing);
    });

    it("finds nothing in a line without a timing", () => {
        assert.equal(parseTiming("completion cancelled at a.ts:3:5 in 4 ms — during the 75 ms debounce"), undefined);
    });
});

describe("timedOutInPrefill", () => {
    const detail = (stop: string, prefillMs: number, engineMs: number) =>
        `engine stop: ${stop}, 1 tokens; ` + formatTiming({ debounceMs: 0, roundTripMs: engineMs + 10, engineMs, promptBuildMs: 1.4, prefillMs, firstTokenMs: prefillMs + 20 });

    it("is true for a time-capped request that spent most of its time in prefill (a cold cache)", () => {
        assert.equal(timedOutInPrefill(detail("timeout", 1172.2, 1523)), true);
    });

    it("is false when the time went into generation, or the request did not hit the cap", () => {
        assert.equal(timedOutInPrefill(detail("timeout", 80, 1500)), false);
        assert.equal(timedOutInPrefill(detail("eog", 1172.2, 1523)), false);
        assert.equal(timedOutInPrefill("engine stop: timeout, 1 tokens"), false, "no timing to judge by");
    });
});
