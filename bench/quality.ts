// Is a completion any good? Held-out cases (cuts of the same third-party sources as the speed
// prompts, from another range of cut indices so no case is one of those prompts): the missing
// line is emptied down to its indentation and the cursor put after it, as if the user had just
// pressed Enter there and the editor had indented; the document around it goes through the
// editor's own window and the engine's own request path, and what the editor would show (stop
// rules applied) is compared with the line the author wrote. Greedy decoding, mode off: every
// mode emits the same tokens.
import { buildCursorContext } from "../src/completion/promptLayout.ts";
import { applyStopRules } from "../src/text/stopRules.ts";
import { Engine, stopContextOf } from "../src/engine/engine.ts";
import type { CompletionRequest } from "../src/engine/protocol.ts";
import { heldOutPrompts } from "./heldOutPrompts.ts";

export interface QualityResult {
    cases: number;
    /** Share of cases whose first completed line equals the held-out line (leading and trailing whitespace aside). */
    firstLineExactMatch: number;
    /** Mean over cases of 1 − edit distance ÷ the longer line's length (same whitespace rule). */
    meanLineSimilarity: number;
    /** Cases where the editor would show nothing. */
    emptySuggestions: number;
    /** Whether the prompts used FIM tokens (false: prefix-only). */
    usedFim: boolean;
    /** The engine's context size for these cases (prompt budget = context − 256 answer tokens). */
    contextSize: number;
}

/** Quality cases come from cut indices starting here; the speed prompts use 0, 1, 2, … */
const firstCaseIndex = 100_000;
const maxTokensPerCase = 64;
/**
 * Smaller than the editor's 4096: about 750 prompt tokens (some 60 lines of code) per case keeps
 * 100 cases within minutes on two CPU cores, where prefill runs at a few hundred tokens/s.
 */
const qualityContextSize = 1024;

export interface QualityOptions {
    cases: number;
    threads: number;
    log(message: string): void;
}

export async function measureQuality(modelPath: string, { cases, threads, log }: QualityOptions): Promise<QualityResult> {
    const engine = new Engine();
    try {
        await engine.load({ modelPath, threads, gpu: "cpu", contextSize: qualityContextSize });
        engine.configure({ mode: "off" });
        let exact = 0, similarity = 0, empty = 0, usedFim = false;
        for (const [i, held] of heldOutPrompts(cases, firstCaseIndex).entries()) {
            const truth = held.middle.split("\n", 1)[0]!;
            const indent = truth.slice(0, truth.length - truth.trimStart().length);
            const above = held.prefix.slice(0, -1).split("\n");
            const lines = [...above, indent, ...held.suffix.split("\n")];
            const context = buildCursorContext({ lineCount: lines.length, lineAt: (n) => lines[n]! }, { line: above.length, character: indent.length });
            // only the first line is judged: stop once the editor would cut it there
            const request: CompletionRequest = { prefix: context.prefix, suffix: context.suffix, maxTokens: maxTokensPerCase, maxLines: 1 };
            const result = await engine.complete(request);
            usedFim = result.usedFim;
            const shown = applyStopRules(result.text, stopContextOf(request)).text;
            if (shown.length === 0) empty++;
            const line = shown.split("\n", 1)[0]!.trim();
            if (line === truth.trim()) exact++;
            similarity += lineSimilarity(line, truth.trim());
            if ((i + 1) % 10 === 0) log(`  quality: ${i + 1}/${cases} cases`);
        }
        return { cases, firstLineExactMatch: exact / cases, meanLineSimilarity: similarity / cases, emptySuggestions: empty, usedFim, contextSize: qualityContextSize };
    } finally {
        await engine.dispose();
    }
}

/** 1 − Levenshtein distance ÷ the longer length (1 for two empty strings). */
export function lineSimilarity(a: string, b: string): number {
    const longer = Math.max(a.length, b.length);
    return longer === 0 ? 1 : 1 - editDistance(a, b) / longer;
}

function editDistance(a: string, b: string): number {
    let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        const current = [i];
        for (let j = 1; j <= b.length; j++)
            current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
        previous = current;
    }
    return previous[b.length]!;
}
