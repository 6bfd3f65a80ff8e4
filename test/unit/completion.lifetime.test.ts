import assert from "node:assert/strict";
import { SuggestionLifetime, type Query } from "../../src/completion/suggestionLifetime.ts";

const item = { startCharacter: 4, text: "map" };
const query = (extra: Partial<Query> = {}): Query => ({ stateKey: "a.ts|3|0:4", linePrefix: "xs.m", manual: false, ...extra });

describe("suggestion lifetime", () => {
    it("asks for a state it has not seen, and again after a keystroke", () => {
        const lifetime = new SuggestionLifetime();
        assert.deepEqual(lifetime.consider(query()), { kind: "ask" });
        lifetime.shown("a.ts|3|0:4", { insertText: "ap(f)", replaceFromCharacter: 4 });
        assert.deepEqual(lifetime.consider(query({ stateKey: "a.ts|4|0:5", linePrefix: "xs.ma" })), { kind: "ask" });
    });

    it("treats IntelliSense closing without a keystroke as a dismissal that lasts until the state changes", () => {
        const lifetime = new SuggestionLifetime();
        lifetime.consider(query({ selected: item }));
        lifetime.shown("a.ts|3|0:4", { insertText: "map(f)", replaceFromCharacter: 4 });
        assert.equal(lifetime.consider(query()).kind, "withhold");
        assert.equal(lifetime.consider(query({ selected: item })).kind, "withhold");
        assert.equal(lifetime.consider(query()).kind, "withhold");
        assert.deepEqual(lifetime.consider(query({ stateKey: "a.ts|4|0:5" })), { kind: "ask" });
    });

    it("lets a manual trigger lift a dismissal", () => {
        const lifetime = new SuggestionLifetime();
        lifetime.consider(query({ selected: item }));
        assert.equal(lifetime.consider(query()).kind, "withhold");
        assert.deepEqual(lifetime.consider(query({ manual: true })), { kind: "ask" });
    });

    it("repeats the shown suggestion to a re-query, rewritten over an IntelliSense item it starts with", () => {
        const lifetime = new SuggestionLifetime();
        const shown = { insertText: "ap(f)", replaceFromCharacter: 4 };
        lifetime.consider(query());
        lifetime.shown("a.ts|3|0:4", shown);
        assert.deepEqual(lifetime.consider(query()), { kind: "repeat", suggestion: shown });
        // The item replaces from character 3 ("m" typed): on screen it is still "map(f)".
        const typedItem = { startCharacter: 3, text: "map" };
        assert.deepEqual(lifetime.consider(query({ selected: typedItem })), {
            kind: "repeat",
            suggestion: { insertText: "map(f)", replaceFromCharacter: 3 },
        });
    });

    it("shows nothing, rather than a different suggestion, when IntelliSense opens with an item the shown one does not start with", () => {
        const lifetime = new SuggestionLifetime();
        lifetime.consider(query());
        lifetime.shown("a.ts|3|0:4", { insertText: "ax(1)", replaceFromCharacter: 4 });
        assert.equal(lifetime.consider(query({ selected: { startCharacter: 3, text: "map" } })).kind, "withhold");
    });

    it("asks afresh when the user moves to another IntelliSense item", () => {
        const lifetime = new SuggestionLifetime();
        lifetime.consider(query({ selected: item }));
        lifetime.shown("a.ts|3|0:4", { insertText: "map(f)", replaceFromCharacter: 4 });
        assert.deepEqual(lifetime.consider(query({ selected: { startCharacter: 4, text: "filter" } })), { kind: "ask" });
    });

    it("forgets the shown suggestion when reset", () => {
        const lifetime = new SuggestionLifetime();
        lifetime.consider(query());
        lifetime.shown("a.ts|3|0:4", { insertText: "ap(f)", replaceFromCharacter: 4 });
        lifetime.reset();
        assert.deepEqual(lifetime.consider(query()), { kind: "ask" });
    });
});
