// How many of the suggestions the engine produced the user actually took (full accepts with Tab;
// VS Code reports those through the item's command). Kept locally, shown in the tooltip.

export interface AcceptanceSnapshot {
    shown: number;
    accepted: number;
    acceptedChars: number;
}

export class AcceptanceStats {
    private snapshot: AcceptanceSnapshot = { shown: 0, accepted: 0, acceptedChars: 0 };

    noteShown(): void {
        this.snapshot = { ...this.snapshot, shown: this.snapshot.shown + 1 };
    }

    noteAccepted(chars: number): void {
        if (!Number.isFinite(chars) || chars < 0) return;
        this.snapshot = { ...this.snapshot, accepted: this.snapshot.accepted + 1, acceptedChars: this.snapshot.acceptedChars + chars };
    }

    get current(): AcceptanceSnapshot {
        return this.snapshot;
    }
}

/** "4 of 10 suggestions (40%), 312 characters"; typed-through and prefetched ones count once. */
export function formatAcceptance(s: AcceptanceSnapshot): string {
    const rate = s.shown > 0 ? ` (${Math.round((100 * Math.min(s.accepted, s.shown)) / s.shown)}%)` : "";
    return `${s.accepted} of ${s.shown} suggestions${rate}, ${s.acceptedChars} characters`;
}
