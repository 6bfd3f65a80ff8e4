import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";

/** Creates `files` (relative path -> text) under `root`, with their folders. */
export function writeTree(root: string, files: Record<string, string>): void {
    for (const [relative, text] of Object.entries(files)) {
        const file = path.join(root, relative);
        mkdirSync(path.dirname(file), { recursive: true });
        writeFileSync(file, text);
    }
}

export function jsonText(value: unknown): string {
    return JSON.stringify(value, null, 2) + "\n";
}
