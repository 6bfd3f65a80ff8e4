// One code-server with the extension under development and the fixture model, and one chromium
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

export async function openWorkbenchSession(workspaceFiles: Record<string, string>): Promise<WorkbenchSession> {
    assertExtensionBuilt();
    const server = await startCodeServer({ machineSettings: { "clasp.model": await fixtureModelPath() }, workspaceFiles });
    const browser = await launchChromium();
    await browser.page.goto(server.workbenchUrl([["extensionDevelopmentPath", server.remoteUri(EXTENSION_DIR)]]));
    return {
        server,
        browser,
        async close({ keepServerFiles }) {
            await browser.close();
            return server.stop({ keep: keepServerFiles });
        },
    };
}
