import assert from "node:assert/strict";
import { Engine } from "../../src/engine/engine.ts";
import { speculationOffReason } from "../../src/engine/speculationGuard.ts";
import { ensureFixture } from "../../src/fixtures/index.ts";
import { ensureMambaModel } from "../native/recurrentArchitecture.ts";

// Rejected drafts are rolled back by erasing KV cells, which cannot undo a recurrent state: on such a
// model any speculation could change the output, so each mode must decode plainly and say why.
describe("engine: no speculation on recurrent architectures", function () {
    this.timeout(120_000);
    let engine: Engine;
    const logs: string[] = [];
    // repetitive text, so lookup drafts would fire at once
    const request = { prefix: "let a = b; let a = b; let a = b; let a = b; let a = b; let a = ", suffix: "", maxTokens: 24, maxLines: 1000 };

    before(async () => {
        engine = new Engine();
        engine.on("log", ({ message }) => logs.push(message));
        await engine.load({ modelPath: await ensureMambaModel(), threads: 1, gpu: "cpu" });
    });
    after(() => engine.dispose());

    it("says why speculation is off when the model loads", () => {
        const reason = engine.getStatus().model?.speculationOff;
        assert.match(reason ?? "", /"mamba" architecture is recurrent/);
        assert.ok(logs.includes(reason!), "the reason is in the engine log");
    });

    for (const mode of ["lookup", "auto", "clasp", "hybrid"] as const) {
        it(`${mode} drafts nothing and returns plain decoding's tokens`, async () => {
            const plain = await engine.complete({ ...request, mode: "off" });
            const result = await engine.complete({ ...request, mode });
            assert.equal(result.speculation?.mode ?? "off", "off");
            assert.equal(result.speculation?.draftedTokens ?? 0, 0);
            assert.ok(result.generatedTokens > 0);
            assert.equal(result.text, plain.text);
        });
    }
});

describe("speculationOffReason", () => {
    const model = (facts: { isRecurrent: boolean; isHybrid: boolean }, architecture: string) =>
        ({ fileInsights: facts, fileInfo: { metadata: { general: { architecture } } } });

    it("names hybrid architectures as well as recurrent ones", () => {
        assert.match(speculationOffReason(model({ isRecurrent: false, isHybrid: true }, "jamba"))!, /"jamba" architecture is hybrid/);
        assert.match(speculationOffReason(model({ isRecurrent: true, isHybrid: false }, "rwkv7"))!, /"rwkv7" architecture is recurrent/);
    });

    it("leaves attention-only models alone (as llama.cpp classifies a real LLaMA file)", async () => {
        const { getLlama } = await import("node-llama-cpp");
        const llama = await getLlama({ gpu: false, build: "never" });
        const loaded = await llama.loadModel({ modelPath: await ensureFixture("rand") });
        try {
            assert.equal(speculationOffReason(loaded), undefined);
        } finally {
            await loaded.dispose();
            await llama.dispose();
        }
    });
});
