// The model every UI-level test and benchmark loads: the generated "rand" fixture GGUF (small,
// deterministic, built locally, so nothing is downloaded).
import { ensureFixture } from "../../src/fixtures/index.ts";

export async function fixtureModelPath(): Promise<string> {
    // CLASP_TEST_MODEL runs the same tests against another GGUF (a real model, say).
    if (process.env.CLASP_TEST_MODEL) return process.env.CLASP_TEST_MODEL;
    return ensureFixture("rand");
}
