// Polling with a deadline, shared by the browser drivers (test/e2e) and the integration suite that
// runs inside the extension host (bundled there, so this file imports nothing).

/**
 * Polls `probe` until it returns something other than undefined; on the deadline fails naming
 * `what`, the last error the probe threw, and whatever `describeLast` adds (e.g. the extension's state).
 */
export async function until<T>(
    what: string,
    probe: () => Promise<T | undefined> | T | undefined,
    timeoutMs: number,
    intervalMs = 200,
    describeLast?: () => Promise<string>,
): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    while (Date.now() < deadline) {
        try {
            const value = await probe();
            if (value !== undefined) return value;
        } catch (error) {
            lastError = error;
        }
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
    const last = describeLast ? `; ${await describeLast()}` : "";
    throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last}${lastError ? ` (last error: ${String(lastError)})` : ""}`);
}
