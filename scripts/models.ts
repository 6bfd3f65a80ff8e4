// `npm run models [-- smollm2|gemma3 ...]`: fetches the pinned real models (all by default) into
// the project's cache (`CLASP_MODELS_DIR` overrides it). Idempotent; offline once cached.
import { FetchError, fetchModel } from "../src/models/fetchModel.ts";
import { modelsDir, pinnedModels, type PinnedModelId } from "../src/models/pinnedModels.ts";

async function main(): Promise<void> {
    const known = pinnedModels.map((model) => model.id) as string[];
    const asked = process.argv.slice(2).filter((arg) => arg !== "--");
    const unknown = asked.filter((id) => !known.includes(id));
    if (unknown.length) throw new FetchError(`unknown model ${unknown.join(", ")}; known: ${known.join(", ")}`);
    const ids = (asked.length ? asked : known) as PinnedModelId[];
    const dir = modelsDir();
    for (const model of pinnedModels.filter((m) => ids.includes(m.id))) {
        const started = performance.now();
        const { path, fetched } = await fetchModel(model, {
            dir,
            log: (line) => console.error(`[models] ${line}`),
            progress: process.stderr,
        });
        const seconds = ((performance.now() - started) / 1000).toFixed(1);
        console.log(`[models] ${model.label}: ${fetched ? `fetched and verified in ${seconds} s` : "cached (sha256 verified)"} → ${path}`);
        console.log(`[models]   licence: ${model.licence}`);
    }
}

main().catch((error: unknown) => {
    const message = error instanceof FetchError ? error.message : error instanceof Error ? error.stack ?? error.message : String(error);
    console.error(`npm run models: ${message}`);
    process.exit(1);
});
