/** The median of a non-empty list (the mean of the middle two for an even count). */
export function median(values: ArrayLike<number>): number {
    const sorted = Array.from(values).sort((a, b) => a - b);
    if (sorted.length === 0) throw new Error("median of no values");
    const middle = sorted.length >> 1;
    return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
