// `node --import tsx bench/gpu/prepare.ts`: what bench/gpu/run.sh needs on a machine without Node or
// network, written into bench/gpu/.work/ (ignored by git; the device run carries it):
// - llama.cpp.tar.gz: the llama.cpp source node-llama-cpp bundles, with our patch applied (npm ci's
//   postinstall applied it), only the parts the `llama` library builds from (about 5 MB);
// - prompts/: the held-out code prompts the CPU benchmark uses, as text (the prefix before the cut).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { heldOutPrompts } from "../heldOutPrompts.ts";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, "../..");
const work = join(here, ".work");
const source = join(repoRoot, "node_modules/node-llama-cpp/llama/llama.cpp");
/** What the `llama` library and ggml build from; the rest (tools, tests, models, docs) stays behind. */
const sourceParts = ["CMakeLists.txt", "cmake", "ggml", "src", "include", "vendor", "LICENSE"];
const promptCount = 8;
/** Characters kept from each prefix: more than the driver's --prompt-tokens on any vocabulary. */
const promptChars = 4000;

if (!existsSync(join(source, "src/llama-ext.h")))
    throw new Error(`${source} is not the CLaSp-patched llama.cpp: run \`npm ci\` (or \`npm run build:native\`) first`);
rmSync(work, { recursive: true, force: true });
mkdirSync(join(work, "prompts"), { recursive: true });
const archive = join(work, "llama.cpp.tar.gz");
execFileSync("tar", ["-czf", archive, "-C", source, "--exclude=.git", ...sourceParts]);
heldOutPrompts(promptCount).forEach((prompt, i) =>
    writeFileSync(join(work, "prompts", `prompt-${String(i).padStart(2, "0")}.txt`), prompt.prefix.slice(-promptChars)));
console.log(`${archive}: ${(statSync(archive).size / 2 ** 20).toFixed(1)} MB; ${promptCount} prompts in ${join(work, "prompts")}`);
