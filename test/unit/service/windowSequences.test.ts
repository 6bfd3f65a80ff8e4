// Through the socket, as windows use it: each window's completions reuse that window's own KV
// cache however the others type in between, and a window that leaves hands its sequence on.
import assert from "node:assert/strict";
import { ensureFixture } from "../../../src/fixtures/index.ts";
import { sharedEngineSlots } from "../../../src/engine/service/server.ts";
import { RawClient, startHarness, type Harness } from "./harness.ts";

const file = (name: string) => Array.from({ length: 20 }, (_, i) => `let ${name}${i} = ${name}${i - 1} * ${i + 3};\n`).join("");

async function complete(client: RawClient, prefix: string, mode = "off") {
    const reply = await client.request("complete", { prefix, suffix: "", maxTokens: 4, mode });
    assert.equal(reply.kind, "response", JSON.stringify(reply));
    return (reply.result as { timings: { promptTokens: number; reusedTokens: number } }).timings;
}

describe("shared engine: a KV-cache sequence per window", function () {
    this.timeout(120_000);
    let harness: Harness;
    before(async () => { harness = await startHarness(); });
    after(() => harness.stop());

    it(`keeps ${sharedEngineSlots} windows' prompts at once, and gives a closed window's sequence to the next one`, async () => {
        assert.ok(sharedEngineSlots >= 2, "a shared engine needs a sequence per window");
        const windows = await Promise.all(Array.from({ length: sharedEngineSlots }, (_, i) => RawClient.welcomed(harness.location, `window ${i}`)));
        const loaded = await windows[0]!.request("load", { modelPath: await ensureFixture("rand"), threads: 1 });
        assert.equal(loaded.kind, "response", JSON.stringify(loaded));
        for (const [i, window] of windows.entries()) await complete(window, file(`w${i}_`));
        // A keystroke in each window, in turn: only the keystroke is evaluated.
        for (const [i, window] of windows.entries()) {
            const timings = await complete(window, file(`w${i}_`) + "x");
            assert.ok(timings.reusedTokens >= timings.promptTokens - 4, `window ${i} re-evaluated ${timings.promptTokens - timings.reusedTokens} of ${timings.promptTokens} tokens`);
        }
        // The first window, used last, leaves; a newcomer takes its sequence, not the least recently
        // used window's, so nobody else loses theirs.
        await complete(windows[0]!, file("w0_") + "xy");
        windows[0]!.close();
        await harness.logged(/left; \d window/);
        const newcomer = await RawClient.welcomed(harness.location, "newcomer");
        await complete(newcomer, file("new_"));
        for (const [i, window] of windows.entries()) {
            if (i === 0) continue;
            const timings = await complete(window, file(`w${i}_`) + "xy");
            assert.ok(timings.reusedTokens >= timings.promptTokens - 4, `window ${i} lost its KV cache to the newcomer`);
        }
        for (const window of [...windows, newcomer]) window.close();
    });

    it("sends each window the stats of its own requests only", async () => {
        const [a, b] = await Promise.all([RawClient.welcomed(harness.location, "window a"), RawClient.welcomed(harness.location, "window b")]);
        const loaded = await a.request("load", { modelPath: await ensureFixture("rand"), threads: 1 });
        assert.equal(loaded.kind, "response", JSON.stringify(loaded));
        for (let i = 0; i < 3; i++) await complete(a, file("a_") + "x".repeat(i), "lookup");
        await complete(b, file("b_"), "off");
        const statsOf = (client: RawClient) => client.frames.filter((frame) => frame.kind === "event" && frame.event === "stats").map((frame) => frame.payload as { mode: string; requests: number });
        await b.frame((frame) => frame.kind === "event" && frame.event === "stats");
        // A's status bar counts A's three lookup requests; B's shows its one plain request, never A's.
        assert.deepEqual(statsOf(a).map((stats) => [stats.mode, stats.requests]), [["lookup", 1], ["lookup", 2], ["lookup", 3]]);
        assert.deepEqual(statsOf(b).map((stats) => [stats.mode, stats.requests]), [["off", 1]]);
        a.close();
        b.close();
    });
});
