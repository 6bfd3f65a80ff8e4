// A real, trained model gets more than the mode comparison: the skip-ratio sweep on the same
// prompts, the mode comparison again on the "repeat" prompts (where copying drafts should win),
// and the quality of its completions. Fixtures have random weights: none of that means anything
// there.
import type { Llama } from "node-llama-cpp";
import { measureModel, type MeasureOptions, type ModelResult } from "./measureModel.ts";
import { measureQuality, type QualityResult } from "./quality.ts";
import { repeatPrompts } from "./repeatPrompts.ts";

export interface RealModelResult extends ModelResult {
    /** "repeat": the mode comparison on the repeat prompts (its own entry, after the model's main one). */
    promptSet?: "repeat";
    quality?: QualityResult;
}

export interface RealModelOptions extends MeasureOptions {
    /** 0: no quality measurement. */
    qualityCases: number;
    /** Repeat prompts wanted (fewer when the sources hold fewer for this tokenizer). */
    repeatPrompts: number;
}

export async function measureRealModel(llama: Llama, modelPath: string, name: string, options: RealModelOptions): Promise<RealModelResult[]> {
    const main: RealModelResult = await measureModel(llama, modelPath, name, { ...options, skipRatioSweep: options.modes?.includes("clasp") ?? true });

    const vocabulary = await llama.loadModel({ modelPath, vocabOnly: true });
    const repeats = repeatPrompts(options.repeatPrompts, (text) => vocabulary.tokenize(text, false).length);
    await vocabulary.dispose();
    const results = [main];
    const repeatName = `${name} · repeat prompts`;
    if (repeats.length === 0) options.log(`${repeatName}: the sources hold none for this tokenizer`);
    else {
        options.log(`benchmarking ${repeatName} (${repeats.length} prompts)`);
        results.push({ ...await measureModel(llama, modelPath, repeatName, { ...options, prompts: repeats }), promptSet: "repeat" });
    }

    if (options.qualityCases > 0) {
        options.log(`quality of ${name} (${options.qualityCases} cases)`);
        main.quality = await measureQuality(modelPath, { cases: options.qualityCases, threads: options.threads, log: options.log });
    }
    return results;
}
