// What a person does in the VS Code web workbench, as playwright steps: open a file, type, read
// the ghost text and the status bar, run a command from the palette, reach into a webview.
import type { FrameLocator, Locator, Page } from "playwright-core";

/** Monaco renders spaces in view lines and ghost text as NBSP. */
export function visibleText(text: string): string {
    return text.replace(/\u00a0/g, " ");
}

export async function waitForWorkbench(page: Page, timeoutMs = 60_000): Promise<void> {
    await page.locator(".monaco-workbench").waitFor({ state: "visible", timeout: timeoutMs });
}

/** Opens a workspace file through Quick Open, clicking its row once the search has found it. */
export async function openFile(page: Page, fileName: string): Promise<void> {
    await page.keyboard.press("Control+P");
    await page.keyboard.type(fileName);
    // Enter on the first row before the file search answers opens nothing: wait for the row.
    await page.locator(".quick-input-list .monaco-list-row", { hasText: fileName }).first().click({ timeout: 20_000 });
    await page.locator(`.tab.active`, { hasText: fileName }).waitFor({ timeout: 20_000 });
}

/** Puts the caret at the very end of the active editor. */
export async function focusEditorEnd(page: Page): Promise<void> {
    await page.locator(".editor-instance .monaco-editor .view-lines").first().click();
    await page.keyboard.press("Control+End");
}

/**
 * The ghost text on screen: `inline` is the part on the caret's line (Monaco splits it into one
 * decoration span per token), `below` the lines it adds underneath. Both "" when none is shown.
 */
export async function ghostText(page: Page): Promise<{ inline: string; below: string }> {
    const inline = (await page.locator(".monaco-editor .ghost-text-decoration").allTextContents()).join("");
    const below = (await page.locator(".monaco-editor .view-zones .suggest-preview-text .view-line").allTextContents()).join("\n");
    return { inline: visibleText(inline), below: visibleText(below) };
}

/**
 * Waits for ghost text, asking again with VS Code's "trigger inline suggestion" key (Alt+\)
 * every few seconds: a keystroke made while the model was still loading shows nothing later.
 */
export async function waitForGhostText(page: Page, timeoutMs: number, retriggerMs = 4_000): Promise<{ inline: string; below: string }> {
    const deadline = Date.now() + timeoutMs;
    let nextTrigger = Date.now() + retriggerMs;
    while (Date.now() < deadline) {
        const ghost = await ghostText(page);
        if (ghost.inline.trim() !== "" || ghost.below.trim() !== "") return ghost;
        if (Date.now() >= nextTrigger) {
            await page.keyboard.press("Alt+Backslash");
            nextTrigger = Date.now() + retriggerMs;
        }
        await page.waitForTimeout(50);
    }
    throw new Error(`no ghost text appeared within ${timeoutMs / 1000} s`);
}

/** Waits until some rendered editor line contains `expected` (after NBSP normalisation). */
export async function waitForLineContaining(page: Page, expected: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let seen: string[] = [];
    while (Date.now() < deadline) {
        seen = (await page.locator(".monaco-editor .view-lines .view-line").allTextContents()).map(visibleText);
        if (seen.some((line) => line.includes(expected))) return;
        await page.waitForTimeout(100);
    }
    throw new Error(`no editor line contains ${JSON.stringify(expected)}; lines: ${JSON.stringify(seen)}`);
}

export function statusBarItem(page: Page, extensionId: string, itemId: string) {
    // Status bar element ids are "<publisher>.<name>.<item id>"; they contain dots, so match exactly.
    return page.locator(`[id="${extensionId}.${itemId}"]`);
}

/** Runs a command by its title from the command palette, as a user would. */
export async function runFromPalette(page: Page, title: string): Promise<void> {
    await page.keyboard.press("Control+Shift+P");
    await page.keyboard.type(title);
    await page.locator(".quick-input-list .monaco-list-row", { hasText: title }).first().click({ timeout: 20_000 });
}

/** The document inside a webview panel: VS Code nests it as iframe.webview > iframe#active-frame. */
export function webviewContent(page: Page): FrameLocator {
    return page.frameLocator("iframe.webview.ready").last().frameLocator("#active-frame");
}

/** Hovers `target` and returns the text of the hover VS Code shows for it (a status bar item's tooltip). */
export async function hoverText(page: Page, target: Locator, expected: string | RegExp, timeoutMs = 15_000): Promise<string> {
    const hover = page.locator(".workbench-hover, .monaco-hover:not(.hidden)", { hasText: expected }).last();
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        // Move away first: a hover that is already showing does not refresh.
        await page.mouse.move(0, 0);
        await target.hover();
        try {
            await hover.waitFor({ state: "visible", timeout: 3_000 });
            return visibleText(await hover.innerText());
        } catch {
            // Not shown yet (the hover waits for the pointer to rest); try again.
        }
    }
    throw new Error(`no hover containing ${String(expected)} appeared over the target within ${timeoutMs / 1000} s`);
}

/**
 * Fails when the suggest widget is open: its selected item can show as ghost text too, and Tab
 * would accept the item, so ghost text read with it open would prove nothing about inline completions.
 */
export async function assertNoSuggestWidget(page: Page): Promise<void> {
    if (await page.locator(".editor-widget.suggest-widget.visible").count() > 0) throw new Error("the suggest widget is open over the ghost text");
}

/**
 * Records every distinct text the element matching `selector` shows (a status bar item going
 * through its states) from the page's first script on: call it before `page.goto`. Returns a
 * function that reads the record.
 */
export async function recordTexts(page: Page, selector: string): Promise<() => Promise<string[]>> {
    const key = JSON.stringify(`__recordedTexts:${selector}`);
    // A string, not a function: tsx's helpers (__name) do not exist in the page.
    await page.addInitScript(`(() => {
        const seen = [];
        window[${key}] = seen;
        const read = () => {
            const text = document.querySelector(${JSON.stringify(selector)})?.textContent?.trim();
            if (text && seen[seen.length - 1] !== text) seen.push(text);
        };
        new MutationObserver(read).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
    })()`);
    return () => page.evaluate<string[]>(`[...(window[${key}] ?? [])]`);
}
