// The layer-skip modes on the CLaSp-patched build. Without that build these tests fail with the
// build command in the message (they never skip): run `npm run build:native`.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { LlamaContextSequence } from "node-llama-cpp";
import { defaultSpeculationSettings, type SpeculationMode, type SpeculationSettings } from "../../../src/engine/protocol.ts";
import { createSpeculativeDecoder } from "../../../src/engine/clasp/speculativeDecoder.ts";
import { skipSetOf } from "../../../src/engine/clasp/stats.ts";
import { prefill } from "../../../src/engine/decoding.ts";
import type { ClaspNative, RoundOptions } from "../../../src/engine/native/index.ts";
import type { ThreadCosts, ThreadPlan } from "../../../src/engine/threadPlan.ts";
import { fixturePresets } from "../../../src/fixtures/index.ts";
import { decodePlain, decodeWith, openNativeModel, testPrompts, type TestPrompt } from "./harness.ts";
import { assertAbortLeavesSequenceConsistent, Tripwire } from "./abortCheck.ts";
import { assertSamplesFollow } from "./samplingCheck.ts";

const promptCount = 50;
const maxTokens = 24;
const settings = (mode: SpeculationMode, extra: Partial<SpeculationSettings> = {}): SpeculationSettings =>
    ({ ...defaultSpeculationSettings, mode, updateInterval: 8, ...extra });

/** The native primitives, recording the options of every round. */
function recordingRounds(native: ClaspNative): { native: ClaspNative; rounds: RoundOptions[] } {
    const rounds: RoundOptions[] = [];
    const recording = Object.create(native, {
        round: { value: (options: RoundOptions) => (rounds.push(options), native.round(options)) },
    }) as ClaspNative;
    return { native: recording, rounds };
}

describe("layer-skip speculative decoding (CLaSp-patched build)", function () {
    this.timeout(600_000);

    for (const fixture of ["rand", "redundant"] as const) {
        for (const mode of ["clasp", "hybrid", "auto"] as const) {
            it(`${mode} on ${fixture} equals plain greedy decoding on ${promptCount} FIM and prefix-only prompts, with drafts verified`, async () => {
                const open = await openNativeModel(fixture);
                try {
                    const decoder = createSpeculativeDecoder(settings(mode), { native: open.native });
                    let dpRuns = 0, drafted = 0;
                    for (const [i, prompt] of testPrompts(open.model, promptCount).entries()) {
                        const plain = await decodePlain(open.sequence, prompt, maxTokens);
                        const fast = await decodeWith(decoder, open.sequence, prompt, { maxTokens });
                        assert.deepEqual(fast.tokens, plain.tokens, `prompt ${i} (${prompt.kind}) differs`);
                        assert.equal(fast.outcome.end, plain.outcome.end, `prompt ${i} ends differently`);
                        dpRuns += fast.outcome.speculation?.dpRuns ?? 0;
                        drafted += fast.outcome.speculation?.draftedTokens ?? 0;
                    }
                    assert.ok(drafted > 0, `no drafts (${drafted}): nothing was verified`);
                    if (mode !== "auto") assert.ok(dpRuns > 0, "no DP ran");
                } finally {
                    await open.dispose();
                }
            });
        }
    }

    it("a static skip set (never re-selected) is lossless too", async () => {
        const open = await openNativeModel("rand");
        try {
            const decoder = createSpeculativeDecoder(settings("clasp"), { native: open.native, staticMask: Uint8Array.from([0, 1, 1, 0]) });
            let drafted = 0;
            for (const [i, prompt] of testPrompts(open.model, 10, 3).entries()) {
                const plain = await decodePlain(open.sequence, prompt, maxTokens);
                const fast = await decodeWith(decoder, open.sequence, prompt, { maxTokens });
                assert.deepEqual(fast.tokens, plain.tokens, `prompt ${i} differs`);
                assert.equal(fast.outcome.speculation?.dpRuns, 0);
                assert.deepEqual(fast.outcome.speculation?.skipSet, [1, 2], "the static skip set was not the one drafted with");
                drafted += fast.outcome.speculation?.draftedTokens ?? 0;
            }
            // lossless without a single verified draft would prove nothing about the static mask
            assert.ok(drafted > 0, "the static skip set never drafted");
        } finally {
            await open.dispose();
        }
    });

    it("the DP finds exactly the identity layers of `redundant`, and their drafts are accepted >= 99 %", async () => {
        const identityLayers = fixturePresets.redundant.identityLayers ?? [];
        const layers = fixturePresets.redundant.layers ?? 0;
        assert.ok(identityLayers.length > 0 && layers > identityLayers.length, "the redundant preset lost its identity layers");
        const open = await openNativeModel("redundant");
        try {
            const skipRatio = identityLayers.length / layers;
            const decoder = createSpeculativeDecoder(settings("clasp", { skipRatio, minConfidence: 0 }), { native: open.native });
            let drafted = 0, accepted = 0;
            for (const prompt of testPrompts(open.model, 12, 5)) {
                const { outcome } = await decodeWith(decoder, open.sequence, prompt, { maxTokens: 32 });
                drafted += outcome.speculation!.draftedTokens;
                accepted += outcome.speculation!.acceptedTokens;
                assert.deepEqual(skipSetOf(decoder.skipMask), [...identityLayers]);
            }
            assert.ok(drafted > 100, `only ${drafted} draft tokens`);
            assert.ok(accepted / drafted >= 0.99, `acceptance ${(100 * accepted / drafted).toFixed(1)} %`);
        } finally {
            await open.dispose();
        }
    });

    it("every request drafts with a skip set the DP computed from its own prompt's last token", async () => {
        // random weights, 8 layers: different prompts have different best skip sets
        const open = await openNativeModel({ ...fixturePresets.rand, layers: 8, seed: 77 });
        try {
            const { native, rounds } = recordingRounds(open.native);
            const numSkip = 3;
            const decoder = createSpeculativeDecoder(settings("clasp", { skipRatio: numSkip / 8, updateInterval: 1000, minConfidence: 0 }), { native });
            const expectedMasks = new Set<string>();
            for (const [i, prompt] of testPrompts(open.model, 8, 21).entries()) {
                // the reference: x_0..x_L of the prompt's last token, captured by node-llama-cpp's own decode, through the DP
                const expected = (await promptDp(open.native, open.sequence, prompt, numSkip)).join("");
                expectedMasks.add(expected);
                rounds.length = 0;
                await decodeWith(decoder, open.sequence, prompt, { maxTokens: 12 });
                const first = rounds.find((round) => round.layerSkip);
                assert.ok(first, `prompt ${i}: no layer-skip draft`);
                assert.ok(rounds[0]!.dp?.atPending, `prompt ${i}: the request's first round did not run the DP on the prompt's last token`);
                assert.ok(rounds.indexOf(first) > 0, `prompt ${i}: drafted before its own DP`);
                assert.equal([...first.layerSkip!.mask].join(""), expected, `prompt ${i}: drafted with a skip set not computed from its prompt`);
            }
            // if every prompt had the same best skip set, a stale one would pass unnoticed
            assert.ok(expectedMasks.size >= 2, `all prompts share the skip set ${[...expectedMasks]}`);
        } finally {
            await open.dispose();
        }
    });

    it("a thread plan sets each phase's count in every round from then on, restarts the costs and the baseline, and changes no token", async () => {
        const open = await openNativeModel("redundant");
        try {
            const { native, rounds } = recordingRounds(open.native);
            const decoder = createSpeculativeDecoder(settings("clasp", { minConfidence: 0 }), { native });
            const prompts = testPrompts(open.model, 6, 9);
            for (const prompt of prompts.slice(0, 3)) await decodeWith(decoder, open.sequence, prompt, { maxTokens });
            assert.ok(rounds.every((round) => round.threads === undefined), "rounds set thread counts before any plan");
            assert.ok(decoder.stats().requests > 0);

            const cost = (threads: number, ms: number): ThreadCosts => ({ threads, tokenMs: ms, batchMs: { 2: 1.5 * ms, 5: 3 * ms }, draftTokenMs: ms / 2, dpMs: 4 * ms });
            const plan: ThreadPlan = { threads: { plain: 2, draft: 1, verify: 2, dp: 1 }, batchSizes: [2, 5], costs: [cost(1, 7), cost(2, 5)] };
            decoder.useThreadPlan(plan);
            assert.equal(decoder.controller.verify.stepMs, 5, "the controller's step cost is the plan's plain count's");
            assert.equal(decoder.controller.verify.estimateMs(5), 15);
            assert.equal(decoder.stats().requests, 0, "requests timed at the old counts still count");
            assert.equal(decoder.stats().measuredSpeedup, null);
            assert.equal(decoder.stats().tokensPerSecond, 0);

            rounds.length = 0;
            for (const [i, prompt] of prompts.slice(3).entries()) {
                const plain = await decodePlain(open.sequence, prompt, maxTokens);
                const fast = await decodeWith(decoder, open.sequence, prompt, { maxTokens });
                assert.deepEqual(fast.tokens, plain.tokens, `prompt ${i} differs under the plan`);
            }
            assert.ok(rounds.length > 0);
            for (const round of rounds) assert.deepEqual(round.threads, { single: 1, batch: 2, dp: 1 });
        } finally {
            await open.dispose();
        }
    });

    // The first two tokens cannot be drafted with an in-context skip set (the DP needs the prompt's last
    // token evaluated, which yields the first token): a static set exercises the sampling acceptance.
    for (const [mode, minConfidence] of [["clasp", 0], ["clasp", 0.2], ["hybrid", 0.2]] as const) {
        it(`speculative sampling in ${mode} mode keeps the model's distribution (tiny vocabulary, min confidence ${minConfidence})`, async () => {
            const open = await openNativeModel("tiny-vocab");
            try {
                const decoder = createSpeculativeDecoder(settings(mode, { minConfidence }), { native: open.native, staticMask: Uint8Array.from([0, 1, 0, 0]) });
                await assertSamplesFollow(open, decoder, { draws: 3000, temperature: 1.5 });
            } finally {
                await open.dispose();
            }
        });
    }

    for (const mode of ["clasp", "hybrid"] as const) {
        it(`${mode}: an abort mid-round leaves the sequence consistent for later requests`, async () => {
            const open = await openNativeModel("redundant");
            try {
                await assertAbortLeavesSequenceConsistent(open, (native) => createSpeculativeDecoder(settings(mode), { native }));
            } finally {
                await open.dispose();
            }
        });
    }

    it("an aborted one-hop round leaves the same KV cache, byte for byte, as node-llama-cpp's verify path", async () => {
        const open = await openNativeModel("redundant");
        const stateDir = await mkdtemp(path.join(tmpdir(), "clasp-abort-"));
        try {
            // lookup drafts of one token: both paths then plan the very same rounds, whatever they measure
            const lookupSettings = settings("lookup", { maxDraftTokens: 1 });
            const tripwire = new Tripwire();
            const paths = {
                native: createSpeculativeDecoder(lookupSettings, { native: tripwire.native(open.native) }),
                nodeLlamaCpp: createSpeculativeDecoder(lookupSettings),
            };
            let saved = 0;
            const state = async () => {
                const file = path.join(stateDir, `${saved++}.bin`);
                await open.sequence.saveStateToFile(file);
                return { tokens: open.sequence.contextTokens, bytes: await readFile(file) };
            };
            let compared = 0;
            for (const [i, prompt] of testPrompts(open.model, 6, 13).entries()) {
                const results = [];
                for (const decoder of [paths.native, paths.nodeLlamaCpp]) {
                    await open.sequence.clearHistory();
                    const controller = new AbortController();
                    tripwire.arm(controller, 2 + (i % 3));
                    // plain stretches count on both paths; rounds are native calls on one, controlledEvaluate calls on the other
                    const { outcome } = await decodeWith(decoder, tripwire.sequence(open.sequence), prompt, { maxTokens: 40, signal: controller.signal });
                    tripwire.disarm();
                    results.push({ end: outcome.end, ...await state() });
                }
                const [native, old] = results as [typeof results[0], typeof results[0]];
                if (native.end !== "abort" || old.end !== "abort") continue; // finished before the abort point
                compared++;
                assert.deepEqual(native.tokens, old.tokens, `prompt ${i}: the sequences hold different tokens after the abort`);
                assert.ok(native.bytes.equals(old.bytes), `prompt ${i}: the KV cells differ after the abort`);
            }
            assert.ok(compared >= 3, `only ${compared} requests were aborted mid-round`);
        } finally {
            await rm(stateDir, { recursive: true, force: true });
            await open.dispose();
        }
    });
});

/** The DP's skip set for the prompt's last token, from node-llama-cpp's own decode of it; the sequence is left as prefill leaves it. */
async function promptDp(native: ClaspNative, sequence: LlamaContextSequence, prompt: TestPrompt, numSkip: number): Promise<Uint8Array> {
    await prefill(sequence, prompt.tokens);
    const pos = sequence.nextTokenIndex;
    native.setCapture(true);
    try {
        await sequence.evaluateWithoutGeneratingNewTokens([prompt.tokens.at(-1)!]);
    } finally {
        native.setCapture(false);
    }
    const hidden = native.readHiddenStates(pos);
    await sequence.eraseContextTokenRanges([{ start: pos, end: sequence.nextTokenIndex }]);
    assert.ok(hidden, "the prompt's last token was not captured");
    return (await native.optimize(pos, hidden, numSkip)).mask;
}
