import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFile, mkdir, mkdtemp, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureFixture } from "../../src/fixtures/index.ts";
import { pinnedModel, requireCachedModel } from "../../src/models/pinnedModels.ts";

const cli = fileURLToPath(new URL("../../src/cli/complete.ts", import.meta.url));

function complete(args: string[], env: Record<string, string> = {}) {
    const run = spawnSync(process.execPath, ["--import", "tsx", cli, ...args], {
        encoding: "utf8",
        env: { ...process.env, CLASP_MODEL: "", ...env },
        timeout: 120_000,
    });
    return { code: run.status, stdout: run.stdout, stderr: run.stderr.trim() };
}

describe("npm run complete (CLI)", function () {
    this.timeout(180_000);
    let dir: string;
    let source: string;
    before(async () => {
        dir = await mkdtemp(join(tmpdir(), "clasp-cli-"));
        source = join(dir, "sample.ts");
        await writeFile(source, "export function add(a: number, b: number) {\n  return \n}\n");
    });

    it("prints a completion and its timings with a generated fixture model", async () => {
        const run = complete(["--file", source, "--line", "2", "--column", "10", "--model", await ensureFixture("rand"), "--threads", "1", "--max-tokens", "8"]);
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stderr, /FIM · load \d+ ms · prompt \d+ tokens in \d+ ms · first token \d+ ms · \d+ tokens in \d+ ms \([\d.]+ tok\/s\)/);
    });

    it("with no model configured, says plainly that it uses a generated fixture", () => {
        const run = complete(["--file", source, "--line", "2", "--column", "10", "--threads", "1", "--max-tokens", "4"], { HOME: dir });
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stderr, /No model configured: using a generated random-weight fixture model/);
    });

    it("with no model configured, uses the default model once it was downloaded", async () => {
        const home = await mkdtemp(join(tmpdir(), "clasp-home-"));
        const models = join(home, ".cache", "clasp-complete", "models");
        await mkdir(models, { recursive: true });
        // The name node-llama-cpp's downloader gives the default URI's file.
        await copyFile(await ensureFixture("nofim"), join(models, "hf_TheBloke_deepseek-coder-1.3b-base.Q4_K_M.gguf"));
        const run = complete(["--file", source, "--line", "2", "--column", "10", "--threads", "1", "--max-tokens", "4"], { HOME: home });
        assert.equal(run.code, 0, run.stderr);
        assert.doesNotMatch(run.stderr, /No model configured/);
        assert.match(run.stderr, /· no FIM tokens: prefix-only ·/, "the downloaded (FIM-less) model was used, not the FIM fixture");
    });

    it("with no model configured, runs SmolLM2 once `npm run models` fetched it, and says so", async () => {
        const home = await mkdtemp(join(tmpdir(), "clasp-home-"));
        const models = join(home, ".cache", "clasp-complete", "models");
        await mkdir(models, { recursive: true });
        await symlink(requireCachedModel("smollm2"), join(models, pinnedModel("smollm2").fileName));
        const code = join(home, "sum.ts");
        await writeFile(code, "// Return the sum of the numbers in the array.\nfunction sum(values: number[]): number {\n    let total = 0;\n    for (const value of values) {\n        \n    }\n    return total;\n}\n");
        const run = complete(["--file", code, "--line", "5", "--column", "9", "--threads", "1", "--max-tokens", "16", "--mode", "off"], { HOME: home });
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stderr, /No model configured: using SmolLM2-135M-Instruct \(Q4_1\) fetched by `npm run models`/);
        assert.match(run.stderr, /\nmodel .* \(llama, 30 layers, cpu\) · no FIM tokens: prefix-only ·/);
        // A trained model completes the loop body with code about the values, not noise.
        assert.match(run.stdout, /total|value/, run.stdout);
    });

    it("a missing model file: one clear line and a non-zero exit", () => {
        const run = complete(["--file", source, "--line", "1", "--column", "1", "--model", join(dir, "missing.gguf")]);
        assert.equal(run.code, 1);
        assert.equal(run.stderr.split("\n").length, 1, run.stderr);
        assert.match(run.stderr, /^error: Model file not found: .*missing\.gguf$/);
    });

    it("a corrupt GGUF: one clear line and a non-zero exit", async () => {
        const corrupt = join(dir, "corrupt.gguf");
        await writeFile(corrupt, Buffer.concat([Buffer.from("GGUF"), Buffer.alloc(100, 0xff)]));
        const run = complete(["--file", source, "--line", "1", "--column", "1", "--model", corrupt]);
        assert.equal(run.code, 1);
        assert.equal(run.stderr.split("\n").length, 1, run.stderr);
        assert.match(run.stderr, /^error: Corrupt or truncated GGUF file/);
    });

    it("bad arguments and binary files are refused clearly", async () => {
        assert.match(complete(["--file", source]).stderr, /^error: missing --file, --line or --column/);
        assert.match(complete(["--file", source, "--line", "0", "--column", "1"]).stderr, /--line must be a positive integer/);
        const binary = join(dir, "blob.bin");
        await writeFile(binary, Buffer.from([1, 2, 0, 3]));
        const run = complete(["--file", binary, "--line", "1", "--column", "1"]);
        assert.equal(run.code, 1);
        assert.match(run.stderr, /looks binary/);
    });
});
