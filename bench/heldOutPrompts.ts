// Held-out code-completion prompts cut from real third-party code that no one on this project
// wrote: the TypeScript sources zod ships in its npm package (a devDependency kept for this
// purpose only). Each prompt is a FIM triple cut at line boundaries: prefix, middle, suffix.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";

export interface HeldOutPrompt {
    /** Source file, relative to the package root. */
    file: string;
    prefix: string;
    /** The lines the completion should reproduce (not shown to the model). */
    middle: string;
    suffix: string;
    /** Snippets of other open files, as the editor sends them (see repeatPrompts.ts). */
    extraContext?: { path: string; text: string }[];
}

const sourcePackage = "zod";

function packageRoot(): string {
    const require = createRequire(import.meta.url);
    try {
        return dirname(require.resolve(`${sourcePackage}/package.json`));
    } catch (error) {
        throw new Error(`the benchmark prompts come from the "${sourcePackage}" devDependency; run \`npm install\``, { cause: error });
    }
}

function sourceFiles(directory: string): string[] {
    const files: string[] = [];
    for (const entry of readdirSync(directory).sort()) {
        const path = join(directory, entry);
        if (statSync(path).isDirectory()) {
            // tests, benchmarks and translations are not the code people complete
            if (!/^(tests?|__tests__|benchmarks|locales)$/.test(entry)) files.push(...sourceFiles(path));
        } else if (entry.endsWith(".ts") && !entry.endsWith(".d.ts") && !entry.includes(".test.")) files.push(path);
    }
    return files;
}

/** The package's TypeScript sources, by path relative to the package root, with their lines. */
export function heldOutSources(): { file: string; lines: string[] }[] {
    const root = packageRoot();
    return sourceFiles(join(root, "src")).map((path) => ({ file: relative(root, path), lines: readFileSync(path, "utf8").split("\n") }));
}

/**
 * `count` prompts spread over the package's source files, deterministic: the file and the cut
 * (between 30 % and 80 % of the file, on a non-blank line) come from the prompt index only.
 * `first` is the first index: other prompt sets start elsewhere so that they share no cut.
 */
export function heldOutPrompts(count: number, first = 0): HeldOutPrompt[] {
    const files = heldOutSources().filter(({ lines }) => lines.length >= 60);
    if (files.length === 0) throw new Error(`no TypeScript sources of at least 60 lines in the "${sourcePackage}" package`);
    const prompts: HeldOutPrompt[] = [];
    for (let i = first; i < first + count; i++) {
        const { file, lines } = files[(i * 7919) % files.length]!;
        let cut = Math.floor(lines.length * (0.3 + 0.5 * (((i * 2654435761) >>> 0) % 1000) / 1000));
        while (cut < lines.length - 2 && lines[cut]!.trim() === "") cut++;
        const middleLines = 1 + (i % 3);
        prompts.push({
            file,
            prefix: lines.slice(0, cut).join("\n") + "\n",
            middle: lines.slice(cut, cut + middleLines).join("\n") + "\n",
            suffix: lines.slice(cut + middleLines).join("\n"),
        });
    }
    return prompts;
}
