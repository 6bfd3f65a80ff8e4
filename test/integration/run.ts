// `npm run test:integration`: runs the mocha suite inside a real VS Code 1.139 extension host
// (code-server) with CLaSp Complete loaded from this repository, using headless chromium as the
// workbench client. Prints one line per test and ends with "N passed, N failed".
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { exitAfter, runDriver } from "../../scripts/vscode-test/cleanup.ts";
import { launchChromium } from "../../scripts/vscode-test/chromium.ts";
import { describeStop, startCodeServer, teardownProblem } from "../../scripts/vscode-test/codeServer.ts";
import { assertExtensionBuilt } from "../../scripts/vscode-test/extensionBuild.ts";
import { fixtureModelPath } from "../../scripts/vscode-test/fixtureModel.ts";
import { EXTENSION_DIR, TEST_RESULTS_DIR } from "../../scripts/vscode-test/paths.ts";
import { bundleSuite } from "./bundleSuite.ts";
import { extensionEnvironment, machineSettings, resultFileIn, workspaceFiles } from "./testWorkspace.ts";

const SUITE_TIMEOUT_MS = Number(process.env.CLASP_IT_TIMEOUT_MS ?? 8 * 60_000);

interface Results {
    passed: string[];
    failed: { title: string; error: string }[];
    node?: string;
    ms?: number;
}

async function main(): Promise<number> {
    const started = Date.now();
    exitAfter(SUITE_TIMEOUT_MS + 60_000, "integration run");
    assertExtensionBuilt();
    const modelPath = await fixtureModelPath();
    const suiteEntry = await bundleSuite();

    const server = await startCodeServer({ machineSettings: machineSettings(modelPath), workspaceFiles });
    const resultFile = resultFileIn(server.dir);
    const browser = await launchChromium();
    const browserLog: string[] = [];
    browser.page.on("console", (message) => browserLog.push(`[${message.type()}] ${message.text()}`));

    // The workbench calls window.codeAutomationExit(code) when the suite's run() settles; it must
    // exist before the page loads.
    let reportExit!: (code: number | "timeout") => void;
    const exitCode = new Promise<number | "timeout">((resolve) => (reportExit = resolve));
    await browser.page.exposeFunction("codeAutomationExit", (code: number) => reportExit(code));
    const timer = setTimeout(() => reportExit("timeout"), SUITE_TIMEOUT_MS);

    await browser.page.goto(server.workbenchUrl([
        ["extensionDevelopmentPath", server.remoteUri(EXTENSION_DIR)],
        ["extensionTestsPath", server.remoteUri(suiteEntry)],
        ["extensionEnvironment", JSON.stringify(extensionEnvironment(modelPath, resultFile))],
    ]));
    const code = await exitCode;
    clearTimeout(timer);
    if (code !== 0) await saveFailureEvidence(browser.page, server.dir, browserLog);
    await browser.close();

    const results = readResults(resultFile, code);
    const suiteOk = code === 0 && results.failed.length === 0;
    const stopped = await server.stop({ keep: !suiteOk });
    console.log(describeStop(stopped));
    // The engine runs detached from code-server: the run must have had its own and stopped it.
    const teardown = teardownProblem(stopped, server.engineDir);
    if (teardown) results.failed.push({ title: "teardown stops the run's own engine and leaves no process", error: teardown });
    else results.passed.push("teardown stops the run's own engine and leaves no process");
    const ok = suiteOk && teardown === undefined;

    for (const title of results.passed) console.log(`  ok   ${title}`);
    for (const failure of results.failed) console.log(`  FAIL ${failure.title}\n${indent(failure.error)}`);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(`extension host ${results.node ?? "?"}, exit ${code}, mocha ${((results.ms ?? 0) / 1000).toFixed(1)} s, total ${seconds} s`);
    console.log(`${results.passed.length} passed, ${results.failed.length} failed`);
    return ok ? 0 : 1;
}

function readResults(resultFile: string, code: number | "timeout"): Results {
    if (existsSync(resultFile)) return JSON.parse(readFileSync(resultFile, "utf8")) as Results;
    const why = code === "timeout" ? "the suite did not finish in time" : `the extension host exited with ${code} before writing results`;
    return { passed: [], failed: [{ title: "integration suite", error: `no results file: ${why}` }] };
}

async function saveFailureEvidence(page: import("playwright-core").Page, runDir: string, browserLog: string[]): Promise<void> {
    mkdirSync(TEST_RESULTS_DIR, { recursive: true });
    const screenshot = path.join(TEST_RESULTS_DIR, "integration-failure.png");
    await page.screenshot({ path: screenshot }).catch(() => undefined);
    writeFileSync(path.join(runDir, "browser-console.log"), browserLog.join("\n"));
    console.error(`failure evidence: ${screenshot}, ${path.join(runDir, "browser-console.log")}`);
}

function indent(text: string): string {
    return text.split("\n").map((line) => `       ${line}`).join("\n");
}

runDriver(main);
