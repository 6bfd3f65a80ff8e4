// Debian's headless chromium, driven by playwright-core, as the client of the test code-server.
// Everything that could reach past 127.0.0.1 (sync, updates, QUIC, background fetches) is off.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { onCleanup } from "./cleanup.ts";
import { assertChromiumInstalled, CHROMIUM_BIN } from "./paths.ts";

export interface Browser {
    context: BrowserContext;
    page: Page;
    close(): Promise<void>;
}

const CLOSED_NETWORK_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    // Any host name other than the loopback address fails to resolve: nothing leaves 127.0.0.1.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
];

export async function launchChromium(): Promise<Browser> {
    assertChromiumInstalled();
    // A fresh profile per run; playwright passes it as --user-data-dir and adds --headless.
    const profile = mkdtempSync(path.join(os.tmpdir(), "clasp-chromium-"));
    const context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM_BIN,
        headless: true,
        viewport: { width: 1280, height: 800 },
        args: CLOSED_NETWORK_FLAGS,
        // Chromium writes "Crash Reports" under $HOME/.config even with its own profile folder.
        env: { ...process.env, HOME: profile },
        timeout: 30_000,
        // The run's own cleanup closes the browser on signals, in order (browser, then server).
        handleSIGINT: false,
        handleSIGTERM: false,
        handleSIGHUP: false,
    });
    let closed = false;
    const close = async (): Promise<void> => {
        if (closed) return;
        closed = true;
        removeCleanup();
        await context.close().catch(() => undefined);
        rmSync(profile, { recursive: true, force: true });
    };
    const removeCleanup = onCleanup(close);
    const page = context.pages()[0] ?? (await context.newPage());
    return { context, page, close };
}
