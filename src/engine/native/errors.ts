// Errors of the CLaSp native layer. Each says what to do, so a user or CI log is actionable.

export const BUILD_COMMAND = "npm run build:native";

/** The CLaSp-patched llama.cpp build is missing, stale, or an unpatched binary was loaded. */
export class ClaspBuildMissingError extends Error {
    constructor(detail: string, options?: { cause?: unknown }) {
        super(`The CLaSp-patched llama.cpp build is not available (${detail}). Build it with \`${BUILD_COMMAND}\`.`, options);
        this.name = "ClaspBuildMissingError";
    }
}

/** The model or context cannot run CLaSp (architecture without layer skip, split KV cache). */
export class ClaspUnsupportedError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "ClaspUnsupportedError";
    }
}

/** A CLaSp call got an argument it cannot use. */
export class ClaspArgumentError extends TypeError {
    constructor(message: string) {
        super(`CLaSp: ${message}`);
        this.name = "ClaspArgumentError";
    }
}
