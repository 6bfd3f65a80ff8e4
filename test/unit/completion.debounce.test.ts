import assert from "node:assert/strict";
import { AdaptiveDebounce, LatestRequest, abortableDelay } from "../../src/completion/debounce.ts";

describe("completion debounce and cancellation", () => {
    it("uses the base delay before any typing rhythm is known", () => {
        assert.equal(new AdaptiveDebounce({ baseMs: 120 }).delayFor(1000, "const val"), 120);
    });

    it("follows a fast typing rhythm and never waits longer than the base", () => {
        const fast = new AdaptiveDebounce({ baseMs: 120 });
        let t = 0;
        for (let i = 0; i < 10; i++) fast.delayFor((t += 60), "abc");
        assert.equal(fast.delayFor((t += 60), "abc"), 78); // 1.3 × 60 ms

        const slow = new AdaptiveDebounce({ baseMs: 120 });
        t = 0;
        for (let i = 0; i < 10; i++) slow.delayFor((t += 400), "abc");
        assert.equal(slow.delayFor((t += 400), "abc"), 120);
    });

    it("learns the rhythm from keystrokes that needed no request too", () => {
        const debounce = new AdaptiveDebounce({ baseMs: 120 });
        let t = 0;
        for (let i = 0; i < 10; i++) debounce.observe((t += 40));
        assert.equal(debounce.delayFor((t += 40), "abc"), 52);
    });

    it("a pause to think does not count as typing rhythm", () => {
        const debounce = new AdaptiveDebounce({ baseMs: 120 });
        let t = 0;
        for (let i = 0; i < 10; i++) debounce.delayFor((t += 50), "abc");
        assert.equal(debounce.delayFor((t += 5000), "abc"), 65); // still the 50 ms rhythm
    });

    it("asks sooner after a character that usually wants a suggestion, and on a fresh line", () => {
        const debounce = new AdaptiveDebounce({ baseMs: 120 });
        assert.equal(debounce.delayFor(0, "foo."), 30);
        assert.equal(debounce.delayFor(500, "    "), 30);
        assert.equal(debounce.delayFor(1000, "const x = "), 30, "the space after '=' must not hide it");
        assert.equal(debounce.delayFor(1500, "call(a, "), 30);
        assert.equal(debounce.delayFor(2000, "const x"), 120);
        assert.equal(debounce.delayFor(2500, "const y = price * "), 30, "an operator with its space wants the operand");
        assert.equal(debounce.delayFor(3000, "const z = a - "), 30);
        assert.equal(debounce.delayFor(3500, "    return "), 30);
        assert.equal(debounce.delayFor(4000, "const y = price *"), 120, "'*' may still become '*=' or '**'");
        assert.equal(debounce.delayFor(4500, "    returned "), 120);
    });

    it("subtracts the quiet that already passed since the keystroke, never below zero", () => {
        const debounce = new AdaptiveDebounce({ baseMs: 120 });
        assert.equal(debounce.delayFor(0, "const x", 50), 70);
        assert.equal(debounce.delayFor(5000, "foo.", 50), 0, "the eager 30 ms passed while VS Code waited");
        assert.equal(debounce.delayFor(10_000, "const y", 500), 0);
        assert.equal(debounce.delayFor(15_000, "const z", -5), 120, "a clock step back counts as no quiet");
    });

    it("does not wait at all with a zero base", () => {
        assert.equal(new AdaptiveDebounce({ baseMs: 0 }).delayFor(0, "x"), 0);
    });

    it("abortableDelay resolves false as soon as it is aborted", async () => {
        const controller = new AbortController();
        const started = Date.now();
        const waiting = abortableDelay(10_000, controller.signal);
        controller.abort();
        assert.equal(await waiting, false);
        assert.ok(Date.now() - started < 1000);
        assert.equal(await abortableDelay(1, new AbortController().signal), true);
    });

    it("a new request aborts the previous one, and a linked cancellation aborts the current one", () => {
        const latest = new LatestRequest();
        const first = latest.begin();
        const vscodeCancel = new AbortController();
        const second = latest.begin(vscodeCancel.signal);
        assert.equal(first.aborted, true);
        assert.equal(second.aborted, false);
        vscodeCancel.abort();
        assert.equal(second.aborted, true);
    });
});
