// The module boundaries the README's architecture promises, checked on the sources: the engine
// (its own process) never reaches into the editor-side completion code, and that code talks to
// the engine only through types (the RPC client carries the values).
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

const src = path.resolve(import.meta.dirname, "../../src");

function sources(dir: string): string[] {
    return readdirSync(dir).flatMap((entry) => {
        const full = path.join(dir, entry);
        return statSync(full).isDirectory() ? sources(full) : full.endsWith(".ts") ? [full] : [];
    });
}

/** `[statement, resolved target]` of every import and re-export in `file`. */
function importsOf(file: string): { statement: string; target: string }[] {
    const text = readFileSync(file, "utf8");
    return [...text.matchAll(/^(?:import|export)\s[^;]*?from\s+"([^"]+)";/gms)]
        .filter((match) => match[1]!.startsWith("."))
        .map((match) => ({ statement: match[0], target: path.resolve(path.dirname(file), match[1]!) }));
}

const inside = (file: string, dir: string) => file.startsWith(path.join(src, dir) + path.sep);

describe("module boundaries", () => {
    it("finds the sources and their imports (the checks below are not vacuous)", () => {
        const engineImports = sources(path.join(src, "engine")).flatMap(importsOf);
        assert.ok(engineImports.some(({ target }) => inside(target, "text")), "the engine no longer imports src/text: update this test");
    });

    it("the engine never imports src/completion", () => {
        for (const file of sources(path.join(src, "engine")))
            for (const { statement, target } of importsOf(file))
                assert.ok(!inside(target, "completion"), `${path.relative(src, file)}: ${statement}`);
    });

    it("src/completion imports only types from the engine", () => {
        for (const file of sources(path.join(src, "completion")))
            for (const { statement, target } of importsOf(file))
                if (inside(target, "engine")) assert.match(statement, /^import type /, `${path.relative(src, file)}: ${statement}`);
    });
});
