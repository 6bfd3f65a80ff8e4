import * as assert from "node:assert/strict";
import { activateAndWaitForReady, closeAllEditors, CURSOR, openEditor, triggerAndAccept } from "./helpers.ts";

// A model may have nothing to say at a given spot, so several spots are tried; every suggestion
// accepted must stay on the cursor's line, and at least one must come.
const MID_LINE_SPOTS = [
    `const total = compute(${CURSOR}) + 1;\nconsole.log(total);\n`,
    `if (${CURSOR}count > 0) {\n    run();\n}\n`,
    `const name = "${CURSOR}";\nexport { name };\n`,
];

describe("text after the cursor", () => {
    before(activateAndWaitForReady);
    afterEach(closeAllEditors);

    it("limits the suggestion to the rest of the line", async () => {
        const accepted: string[] = [];
        for (const spot of MID_LINE_SPOTS) {
            const editor = await openEditor(spot);
            const inserted = await triggerAndAccept(editor, 15_000);
            if (inserted !== "") accepted.push(inserted);
            await closeAllEditors();
        }
        assert.ok(accepted.length > 0, "no mid-line spot got a suggestion");
        for (const text of accepted) assert.ok(!text.includes("\n"), `a mid-line suggestion spans lines: ${JSON.stringify(text)}`);
    });
});
