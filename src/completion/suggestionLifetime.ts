// What a suggestion may do between two keystrokes. VS Code asks the provider again without any
// typing when the IntelliSense widget opens, closes or changes its selection; answering such a
// re-query afresh made ghost text change on its own, and made it come back after Escape. The
// stable API does not say when a suggestion was dismissed, so the re-queries themselves tell:
// the same document state asked about again is never a reason for a new suggestion.

/** The IntelliSense item VS Code would insert, on the cursor's line. */
export interface SelectedItem {
    /** Where the item's replacement starts on the cursor's line. */
    startCharacter: number;
    text: string;
}

export interface Suggestion {
    insertText: string;
    /** Replace from this character of the cursor's line up to the cursor. */
    replaceFromCharacter: number;
}

export interface Query {
    /** Document, version and cursor: equal keys mean nothing was typed and the cursor did not move. */
    stateKey: string;
    /** The cursor's line up to the cursor. */
    linePrefix: string;
    selected?: SelectedItem;
    /** Explicit trigger: the user asked, so an earlier dismissal no longer holds. */
    manual: boolean;
}

export type Verdict =
    /** Nothing stands in the way of a suggestion for this state. */
    | { kind: "ask" }
    /** Answer nothing: the user dismissed the suggestion here, or a new one would replace the shown one. */
    | { kind: "withhold"; reason: string }
    /** Answer exactly this again, so what is on screen stays. */
    | { kind: "repeat"; suggestion: Suggestion };

interface State {
    stateKey: string;
    selected?: SelectedItem;
    shown?: Suggestion;
    dismissed: boolean;
}

export class SuggestionLifetime {
    private state: State | undefined;

    consider(query: Query): Verdict {
        const previous = this.state;
        if (query.manual || !previous || previous.stateKey !== query.stateKey) {
            this.state = { stateKey: query.stateKey, selected: query.selected, dismissed: false };
            return { kind: "ask" };
        }
        this.state = { ...previous, selected: query.selected };
        if (previous.dismissed) return { kind: "withhold", reason: "dismissed here; waits for a keystroke" };
        if (previous.selected && !query.selected) {
            // The IntelliSense widget closed with no keystroke and no cursor move: that is Escape.
            this.state.dismissed = true;
            return { kind: "withhold", reason: "dismissed (IntelliSense closed without a keystroke)" };
        }
        const shown = previous.shown;
        if (!shown) return { kind: "ask" };
        if (!query.selected) return { kind: "repeat", suggestion: shown };
        if (!previous.selected) {
            // The widget opened by itself (a slow language server): keep the shown text if the
            // selected item is its start, otherwise show nothing rather than a different suggestion.
            const extended = extendsItem(shown, query.linePrefix, query.selected);
            return extended ? { kind: "repeat", suggestion: extended } : { kind: "withhold", reason: "IntelliSense opened over the shown suggestion" };
        }
        // Moving through the widget's list is the user's doing: a new item gets its own suggestion.
        return sameItem(previous.selected, query.selected) ? { kind: "repeat", suggestion: shown } : { kind: "ask" };
    }

    /** Records what VS Code was given for the state of the last `consider`. */
    shown(stateKey: string, suggestion: Suggestion): void {
        if (this.state?.stateKey === stateKey) this.state.shown = suggestion;
    }

    /** Forgets everything (the cache was cleared, the model changed): the next query is asked afresh. */
    reset(): void {
        this.state = undefined;
    }
}

function sameItem(a: SelectedItem, b: SelectedItem): boolean {
    return a.startCharacter === b.startCharacter && a.text === b.text;
}

/** The shown suggestion rewritten to replace the selected item's range, when it starts with that item. */
function extendsItem(shown: Suggestion, linePrefix: string, item: SelectedItem): Suggestion | undefined {
    if (item.startCharacter > shown.replaceFromCharacter) return undefined;
    const onScreen = linePrefix.slice(item.startCharacter, shown.replaceFromCharacter) + shown.insertText;
    if (onScreen.length <= item.text.length || !onScreen.startsWith(item.text)) return undefined;
    return { insertText: onScreen, replaceFromCharacter: item.startCharacter };
}
