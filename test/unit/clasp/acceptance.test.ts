import assert from "node:assert/strict";
import type { Token } from "node-llama-cpp";
import { acceptGreedy, acceptSampled, pointMass, sample, seededUniform, type Distribution } from "../../../src/engine/clasp/acceptance.ts";
import { chiSquare, chiSquareCritical001 } from "./chiSquare.ts";

const t = (...values: number[]) => values as Token[];
const dist = (entries: [number, number][]): Distribution => new Map(entries.map(([token, p]) => [token as Token, p]));

describe("draft acceptance", () => {
    it("greedy keeps the agreeing prefix and adds the model's token", () => {
        assert.deepEqual(acceptGreedy(t(5, 6, 7), t(5, 6, 9, 1)), { accepted: 2, next: 9 });
        assert.deepEqual(acceptGreedy(t(5, 6), t(5, 6, 8)), { accepted: 2, next: 8 });
        assert.deepEqual(acceptGreedy(t(4), t(5, 6)), { accepted: 0, next: 5 });
        assert.deepEqual(acceptGreedy(t(), t(3)), { accepted: 0, next: 3 });
        assert.throws(() => acceptGreedy(t(1, 2), t(1, 2)), /needs 3 model tokens/);
    });

    it("the seeded uniform source is reproducible and roughly uniform", () => {
        const a = seededUniform(42), b = seededUniform(42), c = seededUniform(43);
        const first = Array.from({ length: 5 }, a);
        assert.deepEqual(first, Array.from({ length: 5 }, b));
        assert.notDeepEqual(first, Array.from({ length: 5 }, c));
        const counts = new Array(10).fill(0);
        const u = seededUniform(7);
        for (let i = 0; i < 20000; i++) counts[Math.floor(u() * 10)]++;
        assert.ok(chiSquare(counts, new Array(10).fill(2000)) < chiSquareCritical001[9]!);
    });

    it("sample follows the weights", () => {
        const weights = dist([[0, 1], [1, 3], [2, 6]]);
        const counts = [0, 0, 0];
        const u = seededUniform(3);
        for (let i = 0; i < 20000; i++) counts[sample(weights, u)]++;
        assert.ok(chiSquare(counts, [2000, 6000, 12000]) < chiSquareCritical001[2]!, counts.join());
    });

    // The first emitted token of speculative sampling must follow the model's p, whatever q drafted it.
    for (const [name, q] of [
        ["a skewed draft", [0.7, 0.1, 0.1, 0.1]],
        ["a point-mass draft (lookup)", [0, 0, 1, 0]],
        ["a draft equal to the model", [0.1, 0.2, 0.3, 0.4]],
    ] as const) {
        it(`speculative sampling keeps the model's distribution with ${name}`, () => {
            const p = [0.1, 0.2, 0.3, 0.4];
            const target = dist(p.map((value, token) => [token, value]));
            const u = seededUniform(11);
            const draws = 40000;
            const counts = [0, 0, 0, 0];
            for (let i = 0; i < draws; i++) {
                const drafted = sample(dist(q.map((value, token) => [token, value])), u);
                const verdict = acceptSampled(t(drafted), [target, dist([[9, 1]])], [(token) => q[token] ?? 0], u);
                counts[verdict.accepted === 1 ? drafted : verdict.next]++;
            }
            assert.ok(chiSquare(counts, p.map((value) => value * draws)) < chiSquareCritical001[3]!, counts.join());
        });
    }

    it("after accepting every draft token it samples the bonus from the last distribution", () => {
        const u = seededUniform(5);
        const verdict = acceptSampled(t(2), [dist([[2, 1]]), dist([[7, 1]])], [pointMass(2 as Token)], u);
        assert.deepEqual(verdict, { accepted: 1, next: 7 });
    });

    it("refuses a draft token its own distribution gave probability 0", () => {
        assert.throws(() => acceptSampled(t(1), [dist([[1, 1]]), dist([[1, 1]])], [pointMass(2 as Token)], seededUniform(1)), /probability 0/);
    });
});
