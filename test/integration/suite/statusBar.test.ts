import * as assert from "node:assert/strict";
import { activateAndWaitForReady, closeAllEditors, debugState, openEditorAtEnd, triggerAndAccept, waitFor } from "./helpers.ts";

// formatStats (src/ui/statusText.ts): the speedup once it is known within ±5 %, tokens per verify
// round until then.
const LIVE_STATS = /α \d+% · (\d+\.\d+×|\d+\.\d tok\/round)/;

describe("status bar", () => {
    before(activateAndWaitForReady);
    afterEach(closeAllEditors);

    it("shows live acceptance and measured speedup once completions have run", async () => {
        const editor = await openEditorAtEnd("const total = ");
        assert.notEqual(await triggerAndAccept(editor), "", "no completion to produce stats");
        const text = await waitFor("acceptance and speedup in the status bar", async () => {
            const { statusBarText } = await debugState();
            return LIVE_STATS.test(statusBarText) ? statusBarText : undefined;
        }, 30_000);
        assert.match(text, LIVE_STATS);
    });
});
