// One code-server with the extension under development and the fixture model (or another), and one chromium
// page showing its workbench: the setting for the UI test and the time-to-ghost-text benchmark.
import { launchChromium, type Browser } from "../../scripts/vscode-test/chromium.ts";
import { startCodeServer, type CodeServer, type StopReport } from "../../scripts/vscode-test/codeServer.ts";
import { assertExtensionBuilt } from "../../scripts/vscode-test/extensionBuild.ts";
import { fixtureModelPath } from "../../scripts/vscode-test/fixtureModel.ts";
import { EXTENSION_DIR } from "../../scripts/vscode-test/paths.ts";

export interface WorkbenchSession {
    server: CodeServer;
    browser: Browser;
    close(options: { keepServerFiles: boolean }): Promise<StopReport>;
}

export interface WorkbenchSessionOptions {
    /** The GGUF for `clasp.model` (default: the fixture model). */
    model?: string;
    /** More workbench URL payload entries, e.g. `["logLevel", "<extension id>:debug"]`. */
    payload?: [string, string][];
}

export async function openWorkbenchSession(workspaceFiles: Record<string, string>, options: WorkbenchSessionOptions = {}): Promise<WorkbenchSession> {
    assertExtensionBuilt();
    const model = options.model ?? (await fixtureModelPath());
    const server = await startCodeServer({ machineSettings: { "clasp.model": model }, workspaceFiles });
    const browser = await launchChromium();
    await browser.page.goto(server.workbenchUrl([["extensionDevelopmentPath", server.remoteUri(EXTENSION_DIR)], ...(options.payload ?? [])]));
    return {
        server,
        browser,
        async close({ keepServerFiles }) {
            await browser.close();
            return server.stop({ keep: keepServerFiles });
        },
    };
}
