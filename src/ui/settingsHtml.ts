// Fills media/settings.html. Kept free of `vscode` so the CSP and the placeholders are tested.
import { speculationBounds } from "../config.ts";

export interface HtmlResources {
    cspSource: string;
    nonce: string;
    styleUri: string;
    scriptUri: string;
}

export function renderSettingsHtml(template: string, resources: HtmlResources): string {
    const b = speculationBounds;
    const values: Record<string, string> = {
        ...resources,
        skipRatioMin: String(b.skipRatio.min),
        skipRatioMax: String(b.skipRatio.max),
        skipRatioStep: String(b.skipRatio.step),
        maxDraftTokensMin: String(b.maxDraftTokens.min),
        maxDraftTokensMax: String(b.maxDraftTokens.max),
        minConfidenceStep: String(b.minConfidence.step),
        updateIntervalMin: String(b.updateInterval.min),
        updateIntervalMax: String(b.updateInterval.max),
    };
    return template.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
        const value = values[name];
        if (value === undefined) throw new Error(`settings.html uses an unknown placeholder {{${name}}}`);
        return value;
    });
}
