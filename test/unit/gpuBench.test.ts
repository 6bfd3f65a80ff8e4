import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { defaultSpeculationSettings } from "../../src/engine/protocol.ts";

describe("GPU benchmark script (bench/gpu/run.sh)", () => {
    it("runs the rounds with the decoder's default settings", () => {
        const script = readFileSync("bench/gpu/run.sh", "utf8");
        const value = (name: string) => {
            const match = new RegExp(`^${name}=(\\S+)$`, "m").exec(script);
            assert.ok(match, `run.sh sets no ${name}`);
            return Number(match[1]);
        };
        assert.equal(value("gamma"), defaultSpeculationSettings.maxDraftTokens);
        assert.equal(value("min_confidence"), defaultSpeculationSettings.minConfidence);
        assert.equal(value("skip_ratio"), defaultSpeculationSettings.skipRatio);
        assert.equal(value("update_interval"), defaultSpeculationSettings.updateInterval);
    });
});
