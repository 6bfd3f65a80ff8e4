export function claspCmakeOptions(patchVersion: number, target: { platform: string; arch: string }): Record<string, string>;
