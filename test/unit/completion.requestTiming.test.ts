import assert from "node:assert/strict";
import { formatTiming, parseTiming } from "../../src/completion/requestTiming.ts";

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
