// Bundles the extension (CommonJS, loaded by VS Code's extension host) and the engine
// (ESM, forked as its own Node process). node-llama-cpp stays external: it is ESM with
// native binaries and ships in the package as a dependency.
import * as esbuild from "esbuild";

const watch = process.argv.includes("--watch");
const production = process.argv.includes("--production");

const common = {
    bundle: true,
    platform: "node",
    target: "node20",
    sourcemap: !production,
    minify: production,
    logLevel: "info",
    external: ["vscode", "node-llama-cpp"],
};

const builds = [
    { ...common, entryPoints: ["src/extension.ts"], outfile: "dist/extension.cjs", format: "cjs" },
    { ...common, entryPoints: ["src/engine/main.ts"], outfile: "dist/engine.mjs", format: "esm" },
];

if (watch) {
    for (const options of builds) await (await esbuild.context(options)).watch();
} else {
    await Promise.all(builds.map((options) => esbuild.build(options)));
}
