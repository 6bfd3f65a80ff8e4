// One speculative round in one native call: draft or proposal, verify in the real sequence, accept,
// roll back, DP. The sequence it leaves must be exactly the one node-llama-cpp's own verify
// (controlledEvaluate) and erase leave: same tokens, same KV cells, byte for byte.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";
import { acceptGreedy } from "../../src/engine/clasp/acceptance.ts";
import { verifyBatch } from "../../src/engine/clasp/verify.ts";
import { fixturePresets, resolveFixtureSpec } from "../../src/fixtures/index.ts";
import { createClaspNative } from "../../src/engine/native/index.ts";
import { greedyWalk, loadFixtureModel, maskOf, openSession, promptTokens, type Session } from "./nativeHarness.ts";

const identityLayers = resolveFixtureSpec(fixturePresets.redundant).identityLayers;

let stateDir: string;
let saved = 0;
/** The sequence's saved state (its tokens and every KV cell of it), as bytes. */
async function stateBytes(sequence: LlamaContextSequence): Promise<Buffer> {
    const file = path.join(stateDir, `state-${saved++}.bin`);
    await sequence.saveStateToFile(file);
    return readFile(file);
}

/** The old path: node-llama-cpp's controlledEvaluate over [pending, ...draft], then erase what was rejected. */
async function verifyThroughNodeLlamaCpp(sequence: LlamaContextSequence, pending: Token, draft: Token[]) {
    const start = sequence.nextTokenIndex;
    const verification = await verifyBatch(sequence, [pending, ...draft], 0, undefined);
    const verdict = acceptGreedy(draft, verification.tokens!);
    await sequence.eraseContextTokenRanges([{ start: start + 1 + verdict.accepted, end: sequence.nextTokenIndex }]);
    return verdict;
}

describe("native CLaSp: one round per call", function () {
    let model: LlamaModel;
    let session: Session;
    let prompt: Token[];
    let greedy: Token[];
    let mask: Uint8Array;

    before(async () => {
        stateDir = await mkdtemp(path.join(tmpdir(), "clasp-round-"));
        model = await loadFixtureModel(fixturePresets.redundant);
        prompt = promptTokens(model);
        session = await openSession(model);
        greedy = (await greedyWalk(session.sequence, prompt, 10, session.native.info.nVocab)).tokens;
        mask = maskOf(session.native.info.nLayer, identityLayers);
    });
    after(async () => {
        await session?.context.dispose();
        await model?.dispose();
        await rm(stateDir, { recursive: true, force: true });
    });

    /** The sequence holds the prompt minus its last token, which is returned as the pending token. */
    async function atPromptEnd(): Promise<Token> {
        await session.sequence.clearHistory();
        await session.sequence.evaluateWithoutGeneratingNewTokens(prompt.slice(0, -1));
        return prompt.at(-1)!;
    }

    it("a layer-skip draft with the identity layers skipped is accepted whole; the sequence ends after it, node-llama-cpp's view included", async () => {
        const pending = await atPromptEnd();
        const round = await session.native.round({ pending, startPos: prompt.length - 1, layerSkip: { mask, maxTokens: 5, minConfidence: 0 } });
        assert.deepEqual(round.draft, greedy.slice(0, 5));
        assert.equal(round.accepted, 5);
        assert.equal(round.next, greedy[5]);
        assert.equal(session.sequence.nextTokenIndex, prompt.length + 5);
        assert.deepEqual(session.sequence.contextTokens, [...prompt, ...greedy.slice(0, 5)]);
        assert.equal(round.mask, null);
        // node-llama-cpp continues from there exactly as plain decoding would
        const [after] = await session.sequence.controlledEvaluate([[round.next, { generateNext: { token: true } }]]);
        assert.equal(after?.next.token, greedy[6]);
    });

    it("in a context of several sequences (a shared engine's windows) a round drafts as alone and leaves the other sequence's tokens and cells as they were", async () => {
        const context = await model.createContext({ contextSize: 256, sequences: 2, threads: 1, flashAttention: false });
        try {
            const other = context.getSequence();
            const mine = context.getSequence();
            const otherTokens = [...prompt].reverse();
            await other.evaluateWithoutGeneratingNewTokens(otherTokens);
            const otherBefore = await stateBytes(other);
            const native = createClaspNative(context, mine);
            assert.equal(native.info.kvUnified, true, "the patched addon must give every context a unified KV cache");
            await mine.evaluateWithoutGeneratingNewTokens(prompt.slice(0, -1));
            const round = await native.round({ pending: prompt.at(-1)!, startPos: prompt.length - 1, layerSkip: { mask, maxTokens: 5, minConfidence: 0 }, dp: { numSkip: 2 } });
            assert.deepEqual(round.draft, greedy.slice(0, 5));
            assert.equal(round.accepted, 5);
            assert.equal(round.next, greedy[5]);
            assert.deepEqual(mine.contextTokens, [...prompt, ...greedy.slice(0, 5)]);
            assert.deepEqual(other.contextTokens, otherTokens);
            assert.ok((await stateBytes(other)).equals(otherBefore), "the other sequence's KV cells changed");
        } finally {
            await context.dispose();
        }
    });

    it("a rejected proposal leaves exactly the KV cache and tokens node-llama-cpp's verify and erase leave", async () => {
        const wrong = ((greedy[2]! + 1) % session.native.info.nVocab) as Token;
        const proposal = [greedy[0]!, greedy[1]!, wrong, greedy[3]!];

        const pending = await atPromptEnd();
        const old = await verifyThroughNodeLlamaCpp(session.sequence, pending, proposal);
        const oldTokens = session.sequence.contextTokens;
        const oldState = await stateBytes(session.sequence);

        await atPromptEnd();
        const round = await session.native.round({ pending, startPos: prompt.length - 1, proposal });
        assert.deepEqual({ accepted: round.accepted, next: round.next }, old);
        assert.equal(round.accepted, 2, "the wrong third token was not where the draft was cut");
        assert.deepEqual(session.sequence.contextTokens, oldTokens);
        assert.ok((await stateBytes(session.sequence)).equals(oldState), "the KV cells differ from the old path's");
    });

    it("a rejected layer-skip draft leaves the same state as verifying that draft through node-llama-cpp", async () => {
        // the wrong layers skipped: the draft goes astray, and what is kept of it must match the old path
        const wrongMask = maskOf(session.native.info.nLayer, [0, 1, 3, 4]);
        const pending = await atPromptEnd();
        const round = await session.native.round({ pending, startPos: prompt.length - 1, layerSkip: { mask: wrongMask, maxTokens: 6, minConfidence: 0 } });
        assert.ok(round.draft.length > 0 && round.accepted < round.draft.length, `the draft was not rejected (${round.accepted}/${round.draft.length})`);
        const newTokens = session.sequence.contextTokens;
        const newState = await stateBytes(session.sequence);

        await atPromptEnd();
        const old = await verifyThroughNodeLlamaCpp(session.sequence, pending, round.draft);
        assert.deepEqual(old, { accepted: round.accepted, next: round.next });
        assert.deepEqual(session.sequence.contextTokens, newTokens);
        assert.ok((await stateBytes(session.sequence)).equals(newState), "the KV cells differ from the old path's");
    });

    it("with a DP, the round re-selects the skip set from its last accepted token (the identity layers) and still verifies its draft", async () => {
        const pending = await atPromptEnd();
        const round = await session.native.round({
            pending, startPos: prompt.length - 1, layerSkip: { mask: maskOf(session.native.info.nLayer, [0, 7]), maxTokens: 3, minConfidence: 0 },
            dp: { numSkip: identityLayers.length },
        });
        assert.ok(round.draft.length > 0, "a DP round must still draft");
        assert.deepEqual([...round.mask!], [...mask]);
        assert.ok(Math.abs(round.cosine - 1) < 1e-6, `cosine ${round.cosine}`);
        assert.ok(round.dpMs > 0);
        // the DP's temporary sequences are gone: the sequence continues exactly
        assert.equal(session.sequence.nextTokenIndex, prompt.length + round.accepted);
        const [after] = await session.sequence.controlledEvaluate([[round.next, { generateNext: { token: true } }]]);
        assert.equal(after?.next.token, greedy[round.accepted + 1]);
    });

    it("phase thread counts apply to the round only: node-llama-cpp's context keeps its own", async () => {
        const pending = await atPromptEnd();
        const threads = session.context.currentThreads;
        await session.native.round({ pending, startPos: prompt.length - 1, proposal: [greedy[0]!], threads: { single: 2, batch: 2, dp: 2 } });
        assert.equal(session.context.currentThreads, threads);
    });
});
