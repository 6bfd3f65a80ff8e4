// The extensionTestsPath entry: VS Code's extension host (code-server's, or a desktop VS Code
// started by @vscode/test-electron) requires this bundle and awaits `run()`. It runs every
// `*.test.cjs` bundle beside it with mocha and writes a results file, because the host's console
// output reaches the driver only as unformatted browser console lines.
import { readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import Mocha from "mocha";

interface Failure {
    title: string;
    error: string;
}

export function run(): Promise<void> {
    const mocha = new Mocha({ ui: "bdd", timeout: 90_000, color: false, reporter: "spec" });
    const bundleDir = __dirname;
    const grep = process.env.CLASP_IT_GREP;
    if (grep) mocha.grep(grep);
    for (const file of readdirSync(bundleDir).filter((name) => name.endsWith(".test.cjs")).sort()) {
        mocha.addFile(path.join(bundleDir, file));
    }

    const passed: string[] = [];
    const failed: Failure[] = [];
    const started = Date.now();
    return new Promise((resolve, reject) => {
        const runner = mocha.run((failures) => {
            const resultFile = process.env.CLASP_IT_RESULT_FILE;
            if (resultFile) {
                const results = { passed, failed, node: process.version, ms: Date.now() - started };
                writeFileSync(resultFile, JSON.stringify(results, null, 2));
            }
            if (failures > 0) reject(new Error(`${failures} integration tests failed`));
            else resolve();
        });
        runner.on("pass", (test) => passed.push(test.fullTitle()));
        runner.on("fail", (test, error: Error) => failed.push({ title: test.fullTitle(), error: error.stack ?? String(error) }));
    });
}
