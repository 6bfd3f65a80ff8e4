// When the skip set is re-selected: at each request's start (never drafting with another
// request's set), every `updateInterval` verify rounds, and early when acceptance falls well
// below what it was right after the last DP. No native code.
import assert from "node:assert/strict";
import { SkipSetSchedule } from "../../../src/engine/clasp/skipSet.ts";

const mask = (layers: number, skipped: number[]) => Uint8Array.from({ length: layers }, (_, i) => (skipped.includes(i) ? 1 : 0));

describe("skip set schedule", () => {
    it("is due at the first request, then every updateInterval verify rounds", () => {
        const schedule = new SkipSetSchedule(8, { skipCount: 3, updateInterval: 4 });
        assert.equal(schedule.dpDue, true);
        assert.equal(schedule.usable, false);
        schedule.adopt(mask(8, [0, 1, 2]));
        assert.deepEqual(schedule.skipSet, [0, 1, 2]);
        assert.equal(schedule.usable, true);
        for (let i = 0; i < 3; i++) {
            schedule.noteRound(4, 4);
            assert.equal(schedule.dpDue, false);
        }
        schedule.noteRound(0, 1); // a lookup round is a verify round too
        assert.equal(schedule.dpDue, true);
    });

    it("a new request may not draft with the last request's skip set until its own DP ran", () => {
        const schedule = new SkipSetSchedule(8, { skipCount: 2, updateInterval: 100 });
        schedule.adopt(mask(8, [3, 4]));
        schedule.noteRound(4, 4);
        assert.equal(schedule.dpDue, false);
        schedule.beginRequest();
        assert.equal(schedule.usable, false, "a skip set from another context was usable");
        assert.equal(schedule.dpDue, true);
        assert.deepEqual(schedule.skipSet, [3, 4], "the old set is still reported until replaced");
        schedule.adopt(mask(8, [1, 6]));
        assert.equal(schedule.usable, true);
    });

    it("re-runs the DP early when acceptance drops well below its level after the last DP", () => {
        const schedule = new SkipSetSchedule(8, { skipCount: 2, updateInterval: 100 });
        schedule.adopt(mask(8, [0, 1]));
        for (let i = 0; i < 8; i++) schedule.noteRound(4, 4);
        assert.equal(schedule.dpDue, false);
        for (let i = 0; i < 6; i++) schedule.noteRound(4, 0);
        assert.equal(schedule.dpDue, true);
    });

    it("never re-selects a static skip set, which is usable in every request, and refuses bad skip counts and masks", () => {
        const schedule = new SkipSetSchedule(4, { skipCount: 2, updateInterval: 1, staticMask: Uint8Array.from([0, 1, 1, 0]) });
        schedule.beginRequest();
        assert.equal(schedule.dpDue, false);
        assert.equal(schedule.usable, true);
        assert.deepEqual(schedule.skipSet, [1, 2]);
        assert.throws(() => new SkipSetSchedule(4, { skipCount: 4, updateInterval: 1 }), /skip count must be within 1..3/);
        assert.throws(() => new SkipSetSchedule(4, { skipCount: 1, updateInterval: 1, staticMask: new Uint8Array(3) }), /3 entries/);
        assert.throws(() => schedule.adopt(new Uint8Array(5)), /5 mask entries for 4 layers/);
    });
});
