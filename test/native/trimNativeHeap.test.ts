// The engine trims the native heap when it goes quiet (src/engine/service/idleReclaim.ts); this
// checks that the call reaches glibc's malloc_trim and gives memory back. Freed blocks between
// live ones are never returned by free() itself (only the heap's top is), which is how a busy
// engine's RSS stays up after the work that needed it is gone.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fullGc } from "../../src/engine/fullGc.ts";
import { trimNativeHeap } from "../../src/engine/native/index.ts";
import { patchedLlama } from "./nativeHarness.ts";

const rssMB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))![1]) / 1024;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("native: trimming the heap", () => {
    it("returns the free blocks between live allocations to the system (glibc)", async function () {
        if (process.platform !== "linux") this.skip(); // malloc_trim is glibc's; elsewhere the call is a no-op by design
        const llama = await patchedLlama();
        // 64 KiB blocks stay below glibc's mmap threshold, so they come from the heap; every other
        // one is kept, so the freed ones are holes that free() cannot give back.
        const blocks = Array.from({ length: 3000 }, () => new Uint8Array(64 * 1024).fill(1));
        const kept = blocks.filter((_, i) => i % 2 === 0);
        blocks.length = 0;
        await sleep(0);
        fullGc();
        await sleep(300); // V8 may free array buffer memory on a background thread
        const before = rssMB();
        assert.equal(trimNativeHeap(llama), true, "malloc_trim released nothing");
        const after = rssMB();
        assert.ok(before - after > 50, `RSS ${before.toFixed(0)} → ${after.toFixed(0)} MB: expected about 94 MB back`);
        assert.equal(kept.length, 1500);
    });
});
