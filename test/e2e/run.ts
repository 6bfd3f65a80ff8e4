// `npm run test:e2e`: a person's first minute with CLaSp Complete, in Debian chromium against a
// code-server on 127.0.0.1 with the extension loaded from this repository and the fixture model:
// status bar, ghost text while typing, Tab to accept, Escape dismissing it for good, settings panel
// slider and its two-way sync, the panel in light and high-contrast themes. Screenshots go to
// test-results/. Prints one line per scenario and ends with "N passed, N failed".
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Locator, Page } from "playwright-core";
import { exitAfter, runDriver } from "../../scripts/vscode-test/cleanup.ts";
import { TEST_RESULTS_DIR } from "../../scripts/vscode-test/paths.ts";
import { describeStop, teardownProblem } from "../../scripts/vscode-test/codeServer.ts";
import { openWorkbenchSession } from "./session.ts";
import { followSettingsFileEdit, moveSkipRatioSlider, switchTheme, THEMES } from "./settingsPanel.ts";
import { commandTitle, extensionId } from "./manifest.ts";
import {
    focusEditorEnd, ghostText, openFile, runFromPalette, statusBarItem, waitForGhostText, waitForLineContaining, waitForWorkbench,
} from "./workbench.ts";

const SAMPLE_FILE = "sample.ts";
const SAMPLE_TEXT = "// Shopping cart helpers\nexport function cartTotal(prices: number[]): number {\n    let total = 0;\n";
// No brackets: an auto-closed ")" after the caret would make this a mid-line completion.
const TYPED = "    const count = prices.";
/** Model load plus the first completion on 2 shared cores. */
const GHOST_TEXT_TIMEOUT_MS = 120_000;
/** VS Code may flash its own copy of the suggestion right after Escape; what counts is what follows. */
const AFTER_ESCAPE_GRACE_MS = 500;
const STAYS_DISMISSED_MS = 1_500;

interface Outcome {
    name: string;
    error?: string;
}

async function main(): Promise<number> {
    const started = Date.now();
    exitAfter(6 * 60_000, "e2e run");
    mkdirSync(TEST_RESULTS_DIR, { recursive: true });
    const session = await openWorkbenchSession({ [SAMPLE_FILE]: SAMPLE_TEXT });
    const { server, browser } = session;
    const page = browser.page;
    const outcomes: Outcome[] = [];
    const scenario = async (name: string, body: () => Promise<void>): Promise<void> => {
        try {
            await body();
            outcomes.push({ name });
        } catch (error) {
            await shoot(page, `e2e-failed-${name.replace(/[^a-z0-9]+/gi, "-").toLowerCase()}`);
            outcomes.push({ name, error: error instanceof Error ? error.message : String(error) });
        }
    };

    await scenario("workbench loads with the extension under development", async () => {
        await waitForWorkbench(page);
        await page.locator(".window-title, .titlebar", { hasText: "Extension Development Host" }).first().waitFor({ timeout: 30_000 });
    });

    await scenario("ghost text appears while typing and Tab accepts it", async () => {
        await openFile(page, SAMPLE_FILE);
        await focusEditorEnd(page);
        await page.keyboard.type(TYPED, { delay: 30 });
        const ghost = await waitForGhostText(page, GHOST_TEXT_TIMEOUT_MS);
        console.log(`  ghost text: ${JSON.stringify(ghost)}`);
        await shoot(page, "e2e-ghost-text");
        // What Tab accepts is what is on screen at that moment, so read it again right before.
        const shown = await ghostText(page);
        if (shown.inline !== ghost.inline || shown.below !== ghost.below) {
            console.log(`  note: the ghost text changed without a keystroke, now ${JSON.stringify(shown)}`);
        }
        await page.keyboard.press("Tab");
        // Accepted text becomes real lines: the caret's line gains the inline part, the next line
        // starts with the first line shown below it.
        await waitForLineContaining(page, TYPED + shown.inline);
        const firstBelow = shown.below.split("\n")[0]!.trim();
        if (firstBelow !== "") await waitForLineContaining(page, firstBelow);
        await shoot(page, "e2e-accepted");
    });

    await scenario("Escape dismisses the ghost text until the next keystroke", async () => {
        await page.keyboard.press("Control+End");
        await page.keyboard.press("Enter");
        await page.keyboard.type("    const first = prices.", { delay: 30 });
        await waitForGhostText(page, GHOST_TEXT_TIMEOUT_MS);
        await page.keyboard.press("Escape");
        await page.waitForTimeout(AFTER_ESCAPE_GRACE_MS);
        const deadline = Date.now() + STAYS_DISMISSED_MS;
        while (Date.now() < deadline) {
            const ghost = await ghostText(page);
            if (ghost.inline.trim() !== "" || ghost.below.trim() !== "") {
                throw new Error(`ghost text came back after Escape without a keystroke: ${JSON.stringify(ghost)}`);
            }
            await page.waitForTimeout(50);
        }
    });

    await scenario("status bar shows the CLaSp item, ready after a completion", async () => {
        const item = statusBarItem(page, extensionId(), "clasp.status");
        await item.waitFor({ state: "visible", timeout: 60_000 });
        // Once a completion has been shown the engine is loaded: the item must say so.
        const text = await waitForText(item, /\bready\b/, 30_000);
        console.log(`  status bar: ${JSON.stringify(text)}`);
        await item.screenshot({ path: path.join(TEST_RESULTS_DIR, "e2e-status-bar.png") });
    });

    await scenario("settings panel slider changes clasp.speculation.skipRatio", async () => {
        await runFromPalette(page, commandTitle("clasp.openSettings"));
        const { before, after } = await moveSkipRatioSlider(page, server.settingsFiles);
        console.log(`  skip ratio: slider ${before} -> ${after}, saved in the settings`);
        await shoot(page, "e2e-settings-panel");
    });

    await scenario("settings panel follows an edit of the workspace's settings.json", async () => {
        const value = await followSettingsFileEdit(page, server.settingsFiles.workspace);
        console.log(`  .vscode/settings.json skipRatio ${value} -> slider ${value}`);
    });

    for (const theme of THEMES) {
        await scenario(`settings panel takes the ${theme.label} theme`, async () => {
            await switchTheme(page, server.settingsFiles.workspace, theme);
            await shoot(page, `e2e-settings-panel-${theme.label}`);
        });
    }

    const failedBefore = outcomes.some((outcome) => outcome.error !== undefined);
    const stopped = await session.close({ keepServerFiles: failedBefore });
    console.log(`  ${describeStop(stopped)}`);
    outcomes.push({ name: "teardown stops the run's own engine and leaves no process", error: teardownProblem(stopped, server.engineDir) });
    const failed = outcomes.filter((outcome) => outcome.error !== undefined);
    for (const outcome of outcomes) console.log(outcome.error ? `  FAIL ${outcome.name}\n       ${outcome.error}` : `  ok   ${outcome.name}`);
    console.log(`screenshots in ${TEST_RESULTS_DIR}; total ${((Date.now() - started) / 1000).toFixed(1)} s`);
    console.log(`${outcomes.length - failed.length} passed, ${failed.length} failed`);
    return failed.length === 0 ? 0 : 1;
}

async function waitForText(locator: Locator, pattern: RegExp, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let text = "";
    while (Date.now() < deadline) {
        text = ((await locator.textContent()) ?? "").trim();
        if (pattern.test(text)) return text;
        await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`expected text matching ${pattern}, last saw ${JSON.stringify(text)}`);
}

async function shoot(page: Page, name: string): Promise<void> {
    const file = path.join(TEST_RESULTS_DIR, `${name}.png`);
    await page.screenshot({ path: file }).catch((error: unknown) => console.error(`screenshot ${file} failed: ${String(error)}`));
}

runDriver(main);
