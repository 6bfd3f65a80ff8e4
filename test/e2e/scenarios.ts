// The bookkeeping of a browser test driver: named scenarios that pass or fail (a failure saves a
// screenshot and the run goes on), screenshots into test-results/, and the "N passed, N failed"
// summary CI reads.
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Locator, Page } from "playwright-core";
import { TEST_RESULTS_DIR } from "../../scripts/vscode-test/paths.ts";

export interface Outcome {
    name: string;
    error?: string;
    ms: number;
}

export class Scenarios {
    readonly outcomes: Outcome[] = [];

    constructor(private readonly screenshotPrefix: string) {
        mkdirSync(TEST_RESULTS_DIR, { recursive: true });
    }

    /** Runs `body` as one scenario; on failure screenshots `page` (when given). Returns whether it passed. */
    async run(name: string, body: () => Promise<void>, page?: Page): Promise<boolean> {
        const started = Date.now();
        try {
            await body();
            this.outcomes.push({ name, ms: Date.now() - started });
            console.log(`  ok   ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
            return true;
        } catch (error) {
            const message = error instanceof Error ? error.message : String(error);
            if (page) await this.shoot(page, `failed-${name.replace(/[^a-z0-9]+/gi, "-").toLowerCase().slice(0, 80)}`);
            this.outcomes.push({ name, error: message, ms: Date.now() - started });
            console.log(`  FAIL ${name}\n       ${message.split("\n").join("\n       ")}`);
            return false;
        }
    }

    /** Records a check made outside `run` (a teardown report, say). */
    record(name: string, error: string | undefined): void {
        this.outcomes.push({ name, error, ms: 0 });
        console.log(error ? `  FAIL ${name}\n       ${error}` : `  ok   ${name}`);
    }

    get failed(): number {
        return this.outcomes.filter((outcome) => outcome.error !== undefined).length;
    }

    async shoot(target: Page | Locator, name: string): Promise<string> {
        const file = path.join(TEST_RESULTS_DIR, `${this.screenshotPrefix}-${name}.png`);
        await target.screenshot({ path: file }).catch((error: unknown) => console.error(`screenshot ${file} failed: ${String(error)}`));
        return file;
    }

    /** Prints the summary line and returns the exit code. */
    finish(started: number): number {
        console.log(`screenshots in ${TEST_RESULTS_DIR}; total ${((Date.now() - started) / 1000).toFixed(1)} s`);
        console.log(`${this.outcomes.length - this.failed} passed, ${this.failed} failed`);
        return this.failed === 0 ? 0 : 1;
    }
}

export { until } from "../../scripts/vscode-test/poll.ts";
