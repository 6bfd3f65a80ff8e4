// The extension under test is loaded from this repository's folder, so its bundle must exist.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { EXTENSION_DIR } from "./paths.ts";

export function assertExtensionBuilt(): void {
    const manifest = JSON.parse(readFileSync(path.join(EXTENSION_DIR, "package.json"), "utf8")) as { main?: string };
    const main = path.join(EXTENSION_DIR, manifest.main ?? "dist/extension.cjs");
    if (!existsSync(main)) throw new Error(`the extension is not built (missing ${main}); run: npm run build`);
}
