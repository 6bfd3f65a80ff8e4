// Names the UI shows, read from the extension's manifest so the tests follow renames.
import { readFileSync } from "node:fs";
import path from "node:path";
import { EXTENSION_DIR } from "../../scripts/vscode-test/paths.ts";

interface Manifest {
    publisher: string;
    name: string;
    contributes?: { commands?: { command: string; title: string; category?: string }[] };
}

function manifest(): Manifest {
    return JSON.parse(readFileSync(path.join(EXTENSION_DIR, "package.json"), "utf8")) as Manifest;
}

export function extensionId(): string {
    const { publisher, name } = manifest();
    return `${publisher}.${name}`;
}

/** The title the command palette shows: "Category: Title". */
export function commandTitle(command: string): string {
    const entry = manifest().contributes?.commands?.find((candidate) => candidate.command === command);
    if (!entry) throw new Error(`the manifest contributes no command ${command}`);
    return entry.category ? `${entry.category}: ${entry.title}` : entry.title;
}
