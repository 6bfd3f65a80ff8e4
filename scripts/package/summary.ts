// What a built VSIX holds, read from its zip central directory (no unzip tool needed): every entry
// with its sizes, and a summary by area for the release notes and the packaging log.
import { readFile } from "node:fs/promises";
import { RUNTIME_DIR } from "./stage.ts";

export interface VsixEntry {
    name: string;
    compressedBytes: number;
    bytes: number;
}

const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const CENTRAL_FILE_HEADER = 0x02014b50;

export async function vsixEntries(file: string): Promise<VsixEntry[]> {
    const zip = await readFile(file);
    // The end record is the last 22 bytes plus a comment of at most 64 KiB.
    let end = -1;
    for (let at = zip.length - 22; at >= Math.max(0, zip.length - 22 - 0xffff); at--) {
        if (zip.readUInt32LE(at) === END_OF_CENTRAL_DIRECTORY) {
            end = at;
            break;
        }
    }
    if (end < 0) throw new Error(`${file} is not a zip file`);
    const count = zip.readUInt16LE(end + 10);
    let at = zip.readUInt32LE(end + 16);
    const entries: VsixEntry[] = [];
    for (let i = 0; i < count; i++) {
        if (zip.readUInt32LE(at) !== CENTRAL_FILE_HEADER) throw new Error(`${file}: bad central directory entry ${i}`);
        const nameLength = zip.readUInt16LE(at + 28);
        const skip = nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
        entries.push({
            name: zip.toString("utf8", at + 46, at + 46 + nameLength),
            compressedBytes: zip.readUInt32LE(at + 20),
            bytes: zip.readUInt32LE(at + 24),
        });
        at += 46 + skip;
    }
    return entries;
}

/** The area an entry belongs to: one of our files or folders, node-llama-cpp, its binaries, or the other npm packages. */
export function areaOf(name: string): string {
    const inExtension = name.replace(/^extension\//, "");
    const runtime = `${RUNTIME_DIR}/node_modules/`;
    if (!inExtension.startsWith(runtime)) {
        const parts = inExtension.split("/");
        return parts.length > 1 ? `${parts[0]}/` : inExtension;
    }
    const module = inExtension.slice(runtime.length);
    const build = /^node-llama-cpp\/llama\/localBuilds\/[^/]+/.exec(module);
    if (build) return `${runtime}${build[0]} (patched llama.cpp)`;
    const stock = /^@node-llama-cpp\/[^/]+/.exec(module);
    if (stock) return `${runtime}${stock[0]} (stock llama.cpp)`;
    if (module.startsWith("node-llama-cpp/")) return `${runtime}node-llama-cpp`;
    return `${runtime}* (node-llama-cpp's runtime dependencies)`;
}

export async function summarize(file: string): Promise<{ files: number; text: string }> {
    const entries = await vsixEntries(file);
    const areas = new Map<string, { files: number; bytes: number; compressedBytes: number }>();
    for (const entry of entries) {
        const area = areaOf(entry.name);
        const sum = areas.get(area) ?? { files: 0, bytes: 0, compressedBytes: 0 };
        sum.files++;
        sum.bytes += entry.bytes;
        sum.compressedBytes += entry.compressedBytes;
        areas.set(area, sum);
    }
    const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
    const rows = [...areas].sort((a, b) => b[1].compressedBytes - a[1].compressedBytes)
        .map(([area, sum]) => `${mib(sum.compressedBytes).padStart(10)} zipped ${mib(sum.bytes).padStart(10)} unpacked ${String(sum.files).padStart(5)} files  ${area}`);
    return { files: entries.length, text: rows.join("\n") };
}
