// Where the CLI's model comes from: a local path, a URI to download (only when the user gave
// it), the default model if the user downloaded it earlier, SmolLM2 if `npm run models` fetched
// it (a newcomer's first run is a real model), or, with none of these, a generated fixture model
// so everything still runs offline (and says so). The setting is read exactly as the extension
// reads `clasp.model`.
import { homedir } from "node:os";
import { resolve } from "node:path";
import { resolveModelFile } from "node-llama-cpp";
import { ensureFixture } from "../fixtures/index.ts";
import { downloadModel } from "../engine/download.ts";
import { interpretModelSetting } from "../ui/modelPresets.ts";
import { cachedModelPath, pinnedModel } from "../models/pinnedModels.ts";

export interface ResolvedModel {
    path: string;
    /** Set when the model is not what the user configured (SmolLM2 from `npm run models`, or the offline fixture). */
    note?: string;
}

export async function resolveModel(
    setting: string,
    options: { downloadDirectory: string; onDownloadProgress?(downloaded: number, total: number): void },
): Promise<ResolvedModel> {
    const request = interpretModelSetting(setting, homedir());
    if (request.kind === "path") return { path: resolve(request.path) };
    if (request.kind === "uri") {
        const { path } = await downloadModel(
            { uri: request.uri, directory: options.downloadDirectory },
            { onProgress: (p) => options.onDownloadProgress?.(p.downloadedBytes, p.totalBytes) },
        );
        return { path };
    }
    // node-llama-cpp knows the local file name it gives a URI; with download off it only looks.
    const downloaded = await resolveModelFile(request.uri, { directory: options.downloadDirectory, download: false, cli: false })
        .catch(() => undefined);
    if (downloaded) return { path: downloaded };
    const smollm2 = cachedModelPath("smollm2");
    if (smollm2) return { path: smollm2, note: `No model configured: using ${pinnedModel("smollm2").label} fetched by \`npm run models\`` };
    return {
        path: await ensureFixture("rand"),
        note: `No model configured: using a generated random-weight fixture model (its output is noise). ` +
            `Fetch a real one with \`npm run models\`, or download one with --model ${request.uri}`,
    };
}
