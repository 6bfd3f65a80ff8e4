// Model download through node-llama-cpp's own resolver/downloader (hf:, https:, http: URIs),
// into a directory the caller owns (the extension's global storage). Interrupted downloads
// resume from their partial file; cancellation keeps it for the next try.
import { createModelDownloader } from "node-llama-cpp";
import type { DownloadProgress, DownloadRequest } from "./protocol.ts";
import { EngineError, cancelledCode } from "./rpc.ts";
import { inspectModelFile } from "./modelFile.ts";

export async function downloadModel(
    request: DownloadRequest,
    options: { signal?: AbortSignal; onProgress?(progress: DownloadProgress): void } = {},
): Promise<{ path: string }> {
    const { signal, onProgress } = options;
    if (signal?.aborted) throw new EngineError("Download cancelled", cancelledCode, "AbortError");
    let downloader: Awaited<ReturnType<typeof createModelDownloader>>;
    try {
        downloader = await createModelDownloader({
            modelUri: request.uri,
            dirPath: request.directory,
            skipExisting: true,
            deleteTempFileOnCancel: false,
            showCliProgress: false,
            parallelDownloads: 1,
            onProgress: (status) => onProgress?.({ downloadedBytes: status.downloadedSize, totalBytes: status.totalSize }),
        });
    } catch (error) {
        throw new EngineError(`Cannot download ${request.uri}: ${messageOf(error)}`, "DOWNLOAD_FAILED");
    }
    let path: string;
    try {
        path = await downloader.download({ signal });
    } catch (error) {
        if (signal?.aborted) throw new EngineError("Download cancelled", cancelledCode, "AbortError");
        throw new EngineError(`Download of ${request.uri} failed: ${messageOf(error)}`, "DOWNLOAD_FAILED");
    }
    if (signal?.aborted) throw new EngineError("Download cancelled", cancelledCode, "AbortError");
    // A server that sent HTML or a cut-off file must not become the configured model.
    await inspectModelFile(path);
    return { path };
}

function messageOf(error: unknown): string {
    return error instanceof Error ? error.message : String(error);
}
