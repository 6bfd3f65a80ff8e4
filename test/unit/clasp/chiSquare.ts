// Pearson's chi-square statistic and its 0.1 % critical values, for distribution tests with fixed seeds.

export function chiSquare(observed: readonly number[], expected: readonly number[]): number {
    let statistic = 0;
    observed.forEach((count, i) => {
        const e = expected[i]!;
        if (e > 0) statistic += (count - e) ** 2 / e;
        else if (count > 0) statistic = Infinity;
    });
    return statistic;
}

/** Index = degrees of freedom; the statistic exceeds these with probability 0.001 under the null. */
export const chiSquareCritical001 = [
    0, 10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32, 26.12, 27.88, 29.59, 31.26, 32.91, 34.53, 36.12, 37.7, 39.25,
    40.79, 42.31, 43.82, 45.31, 46.8, 48.27, 49.73, 51.18, 52.62, 54.05, 55.48, 56.89, 58.3, 59.7,
];
