// bench/gpu/make_fixture.py writes the GPU benchmark's fixtures where no Node runs. Checked here
// the way the CPU fixtures are: llama.cpp loads it with the shape asked for, and its identity
// layers are exact identities, so skipping them changes no distribution (the best case that the
// GPU run's `clasp` rows rely on), while skipping a random layer does.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { distributions, maskOf, maxAbsDiff, openSession, patchedLlama, promptTokens } from "./nativeHarness.ts";

describe("native: the GPU benchmark's fixture writer", function () {
    this.timeout(120_000);

    it("writes a LLaMA GGUF whose identity layers can be skipped exactly", async () => {
        const dir = mkdtempSync(join(tmpdir(), "clasp-gpu-fixture-"));
        const path = join(dir, "fixture.gguf");
        try {
            execFileSync("python3", ["bench/gpu/make_fixture.py", path, "--layers", "6", "--embd", "128", "--ff", "256",
                "--heads", "4", "--kv-heads", "2", "--vocab", "600", "--identity", "1,3"], { stdio: "pipe" });
            const model = await (await patchedLlama()).loadModel({ modelPath: path, gpuLayers: 0 });
            try {
                const session = await openSession(model);
                try {
                    assert.equal(session.native.info.nLayer, 6);
                    assert.equal(session.native.info.nEmbd, 128);
                    assert.equal(session.native.info.nVocab, 600);
                    const prompt = promptTokens(model);
                    const full = await distributions(session.sequence, prompt, 600);
                    const skip = async (layers: number[]) => {
                        await session.sequence.clearHistory();
                        assert.equal(session.native.setLayerSkip(maskOf(6, layers)), true);
                        const skipped = await distributions(session.sequence, prompt, 600);
                        session.native.setLayerSkip(null);
                        await session.sequence.clearHistory();
                        return Math.max(...skipped.map((d, i) => maxAbsDiff(d, full[i]!)));
                    };
                    assert.ok(await skip([1, 3]) <= 1e-6, "skipping the identity layers changed a distribution");
                    assert.ok(await skip([2]) > 1e-3, "skipping a random layer changed nothing: the layers are not random");
                } finally {
                    await session.context.dispose();
                }
            } finally {
                await model.dispose();
            }
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });
});
