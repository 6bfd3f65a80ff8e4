// The settings panel webview, driven as a user would: slider by keyboard, settings.json by hand,
// colour themes. Values are checked where VS Code keeps them: the settings files.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Page } from "playwright-core";
import { webviewContent } from "./workbench.ts";

const SKIP_RATIO = "clasp.speculation.skipRatio";

export const THEMES = [
    { label: "light", name: "Default Light Modern", bodyClass: "vscode-light" },
    { label: "high-contrast", name: "Default High Contrast", bodyClass: "vscode-high-contrast" },
    { label: "dark", name: "Default Dark Modern", bodyClass: "vscode-dark" },
] as const;

/** Moves the open panel's skip-ratio slider three steps and waits until the setting holds the new value. */
export async function moveSkipRatioSlider(page: Page, settingsFiles: { user: string; workspace: string }): Promise<{ before: number; after: number }> {
    const slider = webviewContent(page).locator("input#skipRatio");
    await slider.waitFor({ state: "visible", timeout: 30_000 });
    const before = Number(await slider.inputValue());
    const max = Number((await slider.getAttribute("max")) ?? "0.8");
    // Keyboard steps are real user input: the range fires input and change events as when dragged.
    await slider.focus();
    const key = before < max ? "ArrowRight" : "ArrowLeft";
    for (let i = 0; i < 3; i++) await slider.press(key);
    const after = Number(await slider.inputValue());
    if (after === before) throw new Error(`the slider did not move from ${before}`);
    // The panel writes where the setting already lives: user settings here, the workspace's if set there.
    await waitUntil(`${SKIP_RATIO} saved as ${after}`, () =>
        [settingsFiles.user, settingsFiles.workspace].some((file) => sameNumber(readSetting(file, SKIP_RATIO), after)));
    return { before, after };
}

/** Edits settings.json on disk, as a user editing it would, and waits for the slider to follow. */
export async function followSettingsFileEdit(page: Page, settingsFile: string): Promise<number> {
    const slider = webviewContent(page).locator("input#skipRatio");
    // The panel never moves a slider the user is holding, so let go of it first.
    await webviewContent(page).locator("h1").first().click();
    const current = Number(await slider.inputValue());
    const target = current === 0.2 ? 0.3 : 0.2;
    writeSetting(settingsFile, SKIP_RATIO, target);
    await waitUntil(`the slider to show ${target} from settings.json`, async () => sameNumber(Number(await slider.inputValue()), target));
    return target;
}

/** Switches the colour theme through a settings file and checks the webview received it. */
export async function switchTheme(page: Page, settingsFile: string, theme: (typeof THEMES)[number]): Promise<void> {
    writeSetting(settingsFile, "workbench.colorTheme", theme.name);
    const body = webviewContent(page).locator("body");
    await waitUntil(`the panel's body to get class ${theme.bodyClass}`, async () =>
        ((await body.getAttribute("class")) ?? "").split(/\s+/).includes(theme.bodyClass));
    // Colours settle a moment after the class flips.
    await page.waitForTimeout(500);
}

async function waitUntil(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        if (await condition()) return;
        await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
}

function sameNumber(value: unknown, expected: number): boolean {
    return typeof value === "number" && Math.abs(value - expected) < 1e-9;
}

function readSettings(file: string): Record<string, unknown> {
    try {
        return JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
    } catch {
        return {};
    }
}

function readSetting(file: string, key: string): unknown {
    return readSettings(file)[key];
}

function writeSetting(file: string, key: string, value: unknown): void {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify({ ...readSettings(file), [key]: value }, null, 4) + "\n");
}
