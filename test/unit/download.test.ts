import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { mkdtemp, readFile, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { downloadModel } from "../../src/engine/download.ts";
import { Engine } from "../../src/engine/engine.ts";
import { ensureFixture } from "../../src/fixtures/index.ts";

/** A model server on 127.0.0.1 that honours Range requests and can be told to misbehave. */
class ModelServer {
    requests: { range?: string }[] = [];
    /** Cut the connection after this many body bytes on the next request (then behave). */
    cutAfter?: number;
    /** Slow each chunk down (ms), so a test can cancel mid-transfer. */
    chunkDelayMs = 0;
    private server?: Server;
    constructor(private readonly files: Record<string, Buffer>) {}

    async start(): Promise<string> {
        this.server = createServer((request, response) => {
            this.requests.push({ range: request.headers.range });
            const body = this.files[request.url ?? ""];
            if (!body) return void response.writeHead(404).end("not found");
            const range = /bytes=(\d+)-(\d*)/.exec(request.headers.range ?? "");
            const start = range ? Number(range[1]) : 0;
            const end = range?.[2] ? Math.min(Number(range[2]), body.length - 1) : body.length - 1;
            const headers = { "content-type": "application/octet-stream", "accept-ranges": "bytes", "content-length": String(end + 1 - start) };
            if (range) response.writeHead(206, { ...headers, "content-range": `bytes ${start}-${end}/${body.length}` });
            else response.writeHead(200, headers);
            if (request.method === "HEAD") return void response.end();
            const cut = this.cutAfter;
            this.cutAfter = undefined;
            void this.send(response, body.subarray(start, end + 1), cut);
        });
        await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
        return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
    }

    private async send(response: import("node:http").ServerResponse, body: Buffer, cut?: number): Promise<void> {
        const chunk = 64 * 1024;
        for (let offset = 0; offset < body.length; offset += chunk) {
            if (cut !== undefined && offset >= cut) return void response.destroy();
            if (this.chunkDelayMs) await new Promise((r) => setTimeout(r, this.chunkDelayMs));
            if (response.destroyed) return;
            response.write(body.subarray(offset, offset + chunk));
        }
        response.end();
    }

    close(): Promise<void> {
        this.server?.closeAllConnections();
        return new Promise((resolve) => this.server?.close(() => resolve()) ?? resolve());
    }
}

describe("model download from a local HTTP server", function () {
    this.timeout(120_000);
    let model: Buffer;
    let server: ModelServer;
    let base: string;

    before(async () => { model = await readFile(await ensureFixture("wide")); });
    beforeEach(async () => {
        server = new ModelServer({ "/model.gguf": model, "/page.gguf": Buffer.from("<html>login required</html>".repeat(10)) });
        base = await server.start();
    });
    afterEach(() => server.close());

    it("downloads with progress, and the engine loads the result", async () => {
        const directory = await mkdtemp(join(tmpdir(), "clasp-dl-"));
        const progress: number[] = [];
        const { path } = await downloadModel({ uri: `${base}/model.gguf`, directory }, {
            onProgress: (p) => progress.push(p.downloadedBytes),
        });
        assert.deepEqual(await readFile(path), model);
        assert.ok(progress.length > 0 && progress[progress.length - 1] === model.length);
        const engine = new Engine();
        try {
            assert.equal((await engine.load({ modelPath: path, threads: 1 })).layers, 8);
        } finally {
            await engine.dispose();
        }
    });

    it("resumes an interrupted transfer from where it stopped", async () => {
        const directory = await mkdtemp(join(tmpdir(), "clasp-dl-"));
        server.cutAfter = 256 * 1024;
        // The downloader may give up on the cut transfer or retry it itself; either way the
        // bytes it kept must be resumed, not fetched again from 0.
        await downloadModel({ uri: `${base}/model.gguf`, directory }).catch(() => undefined);
        const { path } = await downloadModel({ uri: `${base}/model.gguf`, directory });
        assert.deepEqual(await readFile(path), model);
        assert.ok(server.requests.some((r) => r.range && !/bytes=0-/.test(r.range)), `no resuming Range request: ${JSON.stringify(server.requests)}`);
    });

    it("cancels mid-transfer", async () => {
        const directory = await mkdtemp(join(tmpdir(), "clasp-dl-"));
        server.chunkDelayMs = 50;
        const controller = new AbortController();
        const pending = downloadModel({ uri: `${base}/model.gguf`, directory }, {
            signal: controller.signal,
            onProgress: (p) => { if (p.downloadedBytes > 0) controller.abort(); },
        });
        await assert.rejects(pending, (error: Error & { code?: string }) => error.code === "CANCELLED");
        const files = await readdir(directory);
        assert.ok(!files.includes("model.gguf"), `a partial file posed as the model: ${files}`);
    });

    it("rejects a server answer that is not a model", async () => {
        const directory = await mkdtemp(join(tmpdir(), "clasp-dl-"));
        await assert.rejects(downloadModel({ uri: `${base}/page.gguf`, directory }), /Not a GGUF/);
    });

    it("reports a missing file clearly", async () => {
        const directory = await mkdtemp(join(tmpdir(), "clasp-dl-"));
        await assert.rejects(downloadModel({ uri: `${base}/missing.gguf`, directory }), /missing\.gguf/);
    });
});
