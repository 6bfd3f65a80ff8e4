import assert from "node:assert/strict";
import { AcceptanceStats, formatAcceptance } from "../../src/completion/acceptanceStats.ts";
import { presentStatus, toStatusView } from "../../src/ui/statusText.ts";

describe("suggestion acceptance stats", () => {
    it("counts shown and fully accepted suggestions with their characters", () => {
        const stats = new AcceptanceStats();
        stats.noteShown();
        stats.noteShown();
        stats.noteShown();
        stats.noteAccepted(12);
        stats.noteAccepted(Number.NaN);
        assert.deepEqual(stats.current, { shown: 3, accepted: 1, acceptedChars: 12 });
        assert.equal(formatAcceptance(stats.current), "1 of 3 suggestions (33%), 12 characters");
    });

    it("appears in the status tooltip once something was shown", () => {
        const base = { engineState: "ready" as const, paused: false, busy: false };
        assert.doesNotMatch(presentStatus(toStatusView({ ...base, acceptance: { shown: 0, accepted: 0, acceptedChars: 0 } })).tooltip, /Accepted:/);
        assert.match(
            presentStatus(toStatusView({ ...base, acceptance: { shown: 4, accepted: 2, acceptedChars: 40 } })).tooltip,
            /Accepted: 2 of 4 suggestions \(50%\), 40 characters/,
        );
    });
});
