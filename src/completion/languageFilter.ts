// Per-language enablement. Unlike llama.vscode's map, `"*"` is a real wildcard: a language
// without its own entry follows `"*"`, and a map without `"*"` leaves unlisted languages on
// (listing one language must not silently disable all the others, as Copilot's map does).

export type LanguageEnableMap = Record<string, boolean>;

export function isLanguageEnabled(map: LanguageEnableMap, languageId: string): boolean {
    if (Object.hasOwn(map, languageId)) return map[languageId] === true;
    if (Object.hasOwn(map, "*")) return map["*"] === true;
    return true;
}

/** The map after flipping one language, written as an explicit entry so `"*"` keeps its meaning. */
export function toggleLanguage(map: LanguageEnableMap, languageId: string): LanguageEnableMap {
    return { ...map, [languageId]: !isLanguageEnabled(map, languageId) };
}
