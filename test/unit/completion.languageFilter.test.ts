import assert from "node:assert/strict";
import { isLanguageEnabled, toggleLanguage } from "../../src/completion/languageFilter.ts";

describe("language enable map", () => {
    it('treats "*" as a real wildcard for languages without their own entry', () => {
        assert.equal(isLanguageEnabled({ "*": false, python: true }, "python"), true);
        assert.equal(isLanguageEnabled({ "*": false, python: true }, "rust"), false);
        assert.equal(isLanguageEnabled({ "*": true, markdown: false }, "markdown"), false);
        assert.equal(isLanguageEnabled({ "*": true, markdown: false }, "go"), true);
    });

    it("leaves unlisted languages on when there is no wildcard", () => {
        assert.equal(isLanguageEnabled({ markdown: false }, "typescript"), true);
        assert.equal(isLanguageEnabled({}, "typescript"), true);
    });

    it("does not mistake inherited object keys for languages", () => {
        assert.equal(isLanguageEnabled({ "*": false }, "constructor"), false);
    });

    it("toggling writes an explicit entry and keeps the wildcard", () => {
        assert.deepEqual(toggleLanguage({ "*": true }, "markdown"), { "*": true, markdown: false });
        assert.deepEqual(toggleLanguage({ "*": true, markdown: false }, "markdown"), { "*": true, markdown: true });
        assert.deepEqual(toggleLanguage({ "*": false }, "python"), { "*": false, python: true });
    });
});
