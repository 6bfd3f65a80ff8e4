// The GGUF writer's bytes, the reader, the tensor encodings and the fixture builder's structure,
// checked without loading llama.cpp.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { readGgufFileInfo } from "node-llama-cpp";
import {
    buildFixtureModel, byteToUnicode, llamaCppVocabFile, decodeTensor, encodeTensor, ensureFixture, fixturePresets, fromHalfBits, gguf,
    metadataString, parseGguf, readGgufFile, readTensorValues, toHalfBits, withIdentityLayersRemoved, writeGguf,
    type GgufFile,
} from "../../src/fixtures/index.ts";

const u32At = (bytes: Uint8Array, offset: number) => new DataView(bytes.buffer, bytes.byteOffset).getUint32(offset, true);
const u64At = (bytes: Uint8Array, offset: number) => Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(offset, true));

describe("fixtures: GGUF writer and reader", () => {
    const values = Float32Array.from({ length: 96 }, (_, i) => (i - 40) / 7);
    const document = {
        metadata: {
            "test.u8": gguf.u8(200),
            "test.i32": gguf.i32(-123456),
            "test.u32": gguf.u32(4000000000),
            "test.f32": gguf.f32(0.5),
            "test.bool": gguf.bool(true),
            "test.string": gguf.string("héllo ✓"),
            "test.strings": gguf.strings(["a", "", "Ġb"]),
            "test.i32s": gguf.i32s([-1, 0, 7]),
            "test.bools": gguf.bools([false, true]),
            "test.f32s": gguf.f32s([1.5, -2]),
        },
        tensors: [
            { name: "odd", dims: [3], type: "F32" as const, values: Float32Array.of(1, 2, 3) },
            { name: "matrix", dims: [32, 3], type: "F32" as const, values },
            { name: "half", dims: [32, 3], type: "F16" as const, values },
        ],
    };
    const bytes = writeGguf(document);

    it("writes the GGUF v3 header: magic, version, tensor and key counts", () => {
        assert.equal(new TextDecoder().decode(bytes.subarray(0, 4)), "GGUF");
        assert.equal(u32At(bytes, 4), 3);
        assert.equal(u64At(bytes, 8), 3);
        assert.equal(u64At(bytes, 16), Object.keys(document.metadata).length);
    });

    it("aligns the data section and every tensor to 32 bytes", () => {
        const file = parseGguf(bytes);
        assert.equal(file.dataStart % 32, 0);
        assert.deepEqual(file.tensors.map(t => t.offset), [0, 32, 32 + 384]);
        assert.equal(bytes.length, file.dataStart + 32 + 384 + 192);
    });

    it("round-trips typed metadata and tensor infos through the reader", () => {
        const file = parseGguf(bytes);
        assert.deepEqual(Object.fromEntries(file.metadata), {
            "test.u8": 200, "test.i32": -123456, "test.u32": 4000000000, "test.f32": 0.5, "test.bool": true,
            "test.string": "héllo ✓", "test.strings": ["a", "", "Ġb"], "test.i32s": [-1, 0, 7],
            "test.bools": [false, true], "test.f32s": [1.5, -2],
        });
        assert.equal(file.metadataTypes.get("test.u8"), "u8");
        assert.equal(file.metadataTypes.get("test.i32s"), "array<i32>");
        assert.deepEqual(file.tensors.map(t => [t.name, t.dims, t.type]), [
            ["odd", [3], "F32"], ["matrix", [32, 3], "F32"], ["half", [32, 3], "F16"],
        ]);
        assert.deepEqual(readTensorValues(file, "matrix"), values);
        assert.deepEqual(readTensorValues(file, "odd"), Float32Array.of(1, 2, 3));
    });

    // Writer and reader share one type table, so a wrong id would survive the round trip above.
    it("writes what node-llama-cpp's own GGUF parser reads back: values, tensor infos, tensor data", async () => {
        const dir = await mkdtemp(join(tmpdir(), "clasp-gguf-"));
        try {
            const path = join(dir, "document.gguf");
            await writeFile(path, bytes);
            const info = await readGgufFileInfo(path, { sourceType: "filesystem", logWarnings: false, spliceSplitFiles: false });
            assert.equal(info.version, 3);
            assert.deepEqual(info.metadata, {
                test: {
                    u8: 200, i32: -123456, u32: 4000000000, f32: 0.5, bool: true, string: "héllo ✓",
                    strings: ["a", "", "Ġb"], i32s: [-1, 0, 7], bools: [false, true], f32s: [1.5, -2],
                },
            });
            const tensors = info.fullTensorInfo ?? [];
            assert.deepEqual(tensors.map(t => [t.name, t.dimensions.map(Number), t.ggmlType, Number(t.offset)]), [
                ["odd", [3], 0, 0], ["matrix", [32, 3], 0, 32], ["half", [32, 3], 1, 32 + 384],
            ]);
            const matrix = tensors[1]!;
            const start = Number(matrix.fileOffset);
            assert.deepEqual(bytes.subarray(start, start + 384), new Uint8Array(values.buffer));
        } finally {
            await rm(dir, { recursive: true, force: true });
        }
    });

    it("rejects bad input with clear errors", () => {
        const tensor = { name: "t", dims: [4], type: "F32" as const, values: new Float32Array(3) };
        assert.throws(() => writeGguf({ metadata: {}, tensors: [tensor] }), /dims give 4 values, got 3/);
        assert.throws(() => writeGguf({ metadata: { k: gguf.u32(-1) }, tensors: [] }), /outside/);
        assert.throws(() => writeGguf({ metadata: { "general.alignment": gguf.i32(64) }, tensors: [] }), /alignment must be a u32/);
        assert.throws(() => parseGguf(new TextEncoder().encode("GGML0000")), /not a GGUF file/);
        assert.throws(() => parseGguf(bytes.subarray(0, 40)), /truncated/);
    });

    it("honours a custom general.alignment", () => {
        const file = parseGguf(writeGguf({ metadata: { "general.alignment": gguf.u32(64) }, tensors: document.tensors }));
        assert.equal(file.alignment, 64);
        assert.equal(file.dataStart % 64, 0);
        assert.deepEqual(file.tensors.map(t => t.offset), [0, 64, 64 + 384]);
        assert.deepEqual(readTensorValues(file, "matrix"), values);
    });
});

describe("fixtures: F16 and Q8_0 encodings", () => {
    it("converts known values to binary16 with round-to-nearest-even", () => {
        const cases: [number, number][] = [
            [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [0.5, 0x3800], [65504, 0x7bff],
            [65520, 0x7c00], // halfway above the largest half: ties to even, which overflows to Inf
            [1 + 2 ** -11, 0x3c00], // tie between 0x3c00 and 0x3c01: even wins
            [1 + 3 * 2 ** -11, 0x3c02], // tie between 0x3c01 and 0x3c02: even wins
            [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above the tie
            [2 ** -24, 0x0001], [2 ** -25, 0x0000], [1.5 * 2 ** -25, 0x0001], [3 * 2 ** -25, 0x0002],
            [2 ** -14 - 2 ** -25, 0x0400], // rounds up out of the subnormal range
            [Infinity, 0x7c00], [-Infinity, 0xfc00], [1e-10, 0x0000],
        ];
        for (const [value, bits] of cases) assert.equal(toHalfBits(value), bits, `value ${value}`);
        assert.equal(toHalfBits(NaN) & 0x7c00, 0x7c00);
        assert.notEqual(toHalfBits(NaN) & 0x3ff, 0);
    });

    it("round-trips every finite binary16 value exactly", () => {
        for (let bits = 0; bits < 0x10000; bits++) {
            if ((bits & 0x7c00) === 0x7c00) continue;
            assert.equal(toHalfBits(fromHalfBits(bits)), bits, `bits ${bits.toString(16)}`);
        }
    });

    it("encodes F16 tensors as little-endian halves", () => {
        const bytes = encodeTensor("F16", Float32Array.of(1, -2), 2);
        assert.deepEqual([...bytes], [0x00, 0x3c, 0x00, 0xc0]);
        assert.deepEqual(decodeTensor("F16", bytes, 2), Float32Array.of(1, -2));
    });

    it("lays out Q8_0 blocks as an f16 scale and 32 rounded int8 values", () => {
        const values = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i) * (i < 32 ? 1 : 100));
        const bytes = encodeTensor("Q8_0", values, 64);
        assert.equal(bytes.length, 2 * 34);
        for (let block = 0; block < 2; block++) {
            const slice = values.subarray(block * 32, block * 32 + 32);
            const absMax = Math.max(...slice.map(Math.abs));
            const scale = Math.fround(absMax / 127);
            const view = new DataView(bytes.buffer, block * 34, 34);
            assert.equal(view.getUint16(0, true), toHalfBits(scale));
            slice.forEach((v, j) => {
                const scaled = Math.fround(v * Math.fround(1 / scale));
                assert.equal(view.getInt8(2 + j), Math.sign(scaled) * Math.round(Math.abs(scaled)));
            });
            assert.equal(Math.max(...[...new Int8Array(bytes.buffer, block * 34 + 2, 32)].map(Math.abs)), 127);
        }
    });

    it("decodes Q8_0 to within half a quantization step (plus the f16 scale error)", () => {
        const values = Float32Array.from({ length: 128 }, (_, i) => Math.cos(i * 1.7) * 3);
        const decoded = decodeTensor("Q8_0", encodeTensor("Q8_0", values, 32), values.length);
        for (let i = 0; i < values.length; i++) {
            const absMax = Math.max(...values.subarray(i - (i % 32), i - (i % 32) + 32).map(Math.abs));
            assert.ok(Math.abs(decoded[i]! - values[i]!) <= (absMax / 127) * 0.5 + absMax * 2 ** -11, `value ${i}`);
        }
        assert.deepEqual(decodeTensor("Q8_0", encodeTensor("Q8_0", new Float32Array(32), 32), 32), new Float32Array(32));
    });

    it("refuses Q8_0 rows that are not a multiple of 32", () => {
        assert.throws(() => encodeTensor("Q8_0", new Float32Array(48), 48), /multiple of 32/);
    });
});

describe("fixtures: model builder", () => {
    let rand: GgufFile;
    before(async () => { rand = parseGguf(await buildFixtureModel(fixturePresets.rand)); });
    const build = async (spec: Parameters<typeof buildFixtureModel>[0]) => parseGguf(await buildFixtureModel(spec));
    const tensor = (file: GgufFile, name: string) => readTensorValues(file, name);

    it("is deterministic: the same spec gives identical bytes, another seed different ones", async () => {
        const again = await buildFixtureModel(fixturePresets.rand);
        assert.deepEqual(again, rand.bytes);
        const reseeded = await buildFixtureModel({ ...fixturePresets.rand, seed: 99 });
        assert.equal(reseeded.length, again.length);
        assert.notDeepEqual(reseeded, again);
    });

    it("writes the LLaMA metadata and tensors in ggml dimension order, tied by default", async () => {
        assert.equal(metadataString(rand, "general.architecture"), "llama");
        assert.equal(rand.metadata.get("llama.block_count"), 4);
        assert.equal(rand.metadata.get("llama.embedding_length"), 64);
        assert.equal(rand.metadata.get("llama.attention.head_count_kv"), 2);
        assert.equal(rand.metadata.get("llama.rope.dimension_count"), 16);
        const dims = Object.fromEntries(rand.tensors.map(t => [t.name, t.dims]));
        assert.deepEqual(dims["token_embd.weight"], [64, 263]);
        assert.deepEqual(dims["blk.0.attn_q.weight"], [64, 64]);
        assert.deepEqual(dims["blk.0.attn_k.weight"], [64, 32]);
        assert.deepEqual(dims["blk.3.ffn_down.weight"], [128, 64]);
        assert.equal(dims["output.weight"], undefined);
        assert.equal(rand.tensors.length, 1 + 4 * 9 + 1);
        const untied = await build({ ...fixturePresets.rand, tiedEmbeddings: false });
        assert.deepEqual(untied.tensors.find(t => t.name === "output.weight")?.dims, [64, 263]);
    });

    it("draws weights with the requested standard deviation and unit norms", () => {
        const q = tensor(rand, "blk.1.attn_q.weight");
        const std = Math.sqrt(q.reduce((a, v) => a + v * v, 0) / q.length);
        assert.ok(Math.abs(std - 0.3) < 0.02, `std ${std}`);
        assert.ok(tensor(rand, "blk.1.attn_norm.weight").every(v => v === 1));
    });

    it("zeroes attn_output and ffn_down of identity layers only", async () => {
        const redundant = await build(fixturePresets.redundant);
        assert.deepEqual(fixturePresets.redundant.identityLayers, [2, 5]);
        for (let layer = 0; layer < 8; layer++) {
            for (const name of ["attn_output", "ffn_down"]) {
                const zero = tensor(redundant, `blk.${layer}.${name}.weight`).every(v => v === 0);
                assert.equal(zero, layer === 2 || layer === 5, `blk.${layer}.${name}`);
            }
            assert.ok(tensor(redundant, `blk.${layer}.attn_q.weight`).some(v => v !== 0));
        }
    });

    it("removes layers and renumbers the rest without changing their weights", async () => {
        const full = await build(fixturePresets.redundant);
        const twin = await build(fixturePresets["redundant-removed"]);
        assert.deepEqual(fixturePresets["redundant-removed"], withIdentityLayersRemoved(fixturePresets.redundant));
        assert.equal(twin.metadata.get("llama.block_count"), 6);
        assert.equal(twin.tensors.filter(t => t.name.startsWith("blk.")).length, 6 * 9);
        const kept = [0, 1, 3, 4, 6, 7];
        kept.forEach((original, position) => {
            for (const name of ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"])
                assert.deepEqual(tensor(twin, `blk.${position}.${name}.weight`), tensor(full, `blk.${original}.${name}.weight`));
        });
        assert.deepEqual(tensor(twin, "token_embd.weight"), tensor(full, "token_embd.weight"));
    });

    it("multiplies attn_output and ffn_down by the layer scales", async () => {
        const scaledSpec = fixturePresets.scaled;
        const scaled = await build(scaledSpec);
        const plain = await build({ ...scaledSpec, layerScales: undefined });
        scaledSpec.layerScales.forEach((factor, layer) => {
            for (const name of ["attn_output", "ffn_down"]) {
                const expected = tensor(plain, `blk.${layer}.${name}.weight`).map(v => v * factor);
                const actual = tensor(scaled, `blk.${layer}.${name}.weight`);
                actual.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) <= 1e-6 * Math.abs(expected[i]!) + 1e-9));
            }
            assert.deepEqual(tensor(scaled, `blk.${layer}.ffn_up.weight`), tensor(plain, `blk.${layer}.ffn_up.weight`));
        });
    });

    it("writes F16 and Q8_0 weights that decode close to the F32 ones", async () => {
        for (const [type, tolerance] of [["F16", 2e-3], ["Q8_0", 0.02]] as const) {
            const file = await build({ ...fixturePresets.rand, tensorType: type });
            const info = file.tensors.find(t => t.name === "blk.0.ffn_up.weight")!;
            assert.equal(info.type, type);
            assert.equal(file.tensors.find(t => t.name === "blk.0.ffn_norm.weight")!.type, "F32");
            const reference = tensor(rand, "blk.0.ffn_up.weight");
            tensor(file, "blk.0.ffn_up.weight").forEach((v, i) => assert.ok(Math.abs(v - reference[i]!) < tolerance, `${type} ${i}`));
        }
    });

    it("writes the byte vocabulary with FIM specials as a gpt2/qwen2 tokenizer", () => {
        const tokens = rand.metadata.get("tokenizer.ggml.tokens") as string[];
        const types = rand.metadata.get("tokenizer.ggml.token_type") as number[];
        assert.deepEqual(tokens.slice(0, 256), byteToUnicode);
        assert.equal(tokens[32], "Ġ");
        assert.deepEqual(tokens.slice(258), ["<|endoftext|>", "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<|fim_pad|>"]);
        assert.deepEqual(types.slice(258), [3, 3, 3, 3, 3]);
        assert.ok(types.slice(0, 258).every(t => t === 1));
        assert.ok((rand.metadata.get("tokenizer.ggml.merges") as string[]).length > 0);
        assert.equal(rand.metadata.get("tokenizer.ggml.model"), "gpt2");
        assert.equal(rand.metadata.get("tokenizer.ggml.pre"), "qwen2");
        assert.equal(rand.metadata.get("tokenizer.ggml.add_bos_token"), false);
        assert.equal(rand.metadata.get("tokenizer.ggml.bos_token_id"), 258);
        assert.equal(rand.metadata.get("tokenizer.ggml.eos_token_id"), 258);
        assert.deepEqual(
            ["pre", "suf", "mid", "pad"].map(k => rand.metadata.get(`tokenizer.ggml.fim_${k}_token_id`)),
            [259, 260, 261, 262],
        );
    });

    it("omits FIM tokens and keys entirely without fim", async () => {
        const nofim = await build(fixturePresets.nofim);
        const tokens = nofim.metadata.get("tokenizer.ggml.tokens") as string[];
        assert.equal(tokens.length, 259);
        assert.ok(!tokens.some(t => t.includes("fim")));
        assert.ok(![...nofim.metadata.keys()].some(k => k.includes("fim")));
    });

    it("writes a 12-token tiny vocabulary", async () => {
        const tiny = await build(fixturePresets["tiny-vocab"]);
        const tokens = tiny.metadata.get("tokenizer.ggml.tokens") as string[];
        assert.deepEqual(tokens, ["e", "h", "m", "o", "r", "s", "t", "x", "Ġ", "Ċ", "te", "<|endoftext|>"]);
        assert.deepEqual(tiny.tensors.find(t => t.name === "token_embd.weight")?.dims, [64, 12]);
        const withFim = await build({ ...fixturePresets["tiny-vocab"], fim: true });
        assert.equal((withFim.metadata.get("tokenizer.ggml.tokens") as string[]).length, 16);
    });

    it("copies the LLaMA-3 vocabulary from llama.cpp's vocab file with pre llama-bpe", async () => {
        const llama3 = await build({ ...fixturePresets["llama3-vocab"], fim: true });
        const tokens = llama3.metadata.get("tokenizer.ggml.tokens") as string[];
        assert.equal(tokens.length, 128256);
        assert.equal(tokens[128000], "<|begin_of_text|>");
        assert.equal(llama3.metadata.get("tokenizer.ggml.pre"), "llama-bpe");
        assert.equal(llama3.metadata.get("tokenizer.ggml.bos_token_id"), 128000);
        assert.ok((llama3.metadata.get("tokenizer.ggml.merges") as string[]).length > 200000);
        assert.equal(tokens[llama3.metadata.get("tokenizer.ggml.fim_pre_token_id") as number], "<|reserved_special_token_10|>");
    });

    it("adds the tensors and keys each extra architecture needs", async () => {
        const qwen2 = await build(fixturePresets.qwen2);
        assert.equal(metadataString(qwen2, "general.architecture"), "qwen2");
        assert.deepEqual(qwen2.tensors.find(t => t.name === "blk.0.attn_k.bias")?.dims, [32]);
        assert.ok(tensor(qwen2, "blk.3.attn_q.bias").some(v => v !== 0));
        const qwen3 = await build(fixturePresets.qwen3);
        assert.deepEqual(qwen3.tensors.find(t => t.name === "blk.2.attn_q_norm.weight")?.dims, [16]);
        assert.deepEqual(qwen3.tensors.find(t => t.name === "blk.2.attn_k_norm.weight")?.dims, [16]);
        const granite = await build(fixturePresets.granite);
        assert.equal(granite.metadata.get("granite.logit_scale"), 2);
        assert.equal(granite.metadata.get("granite.embedding_scale"), 12);
        assert.ok(Math.abs((granite.metadata.get("granite.residual_scale") as number) - 0.22) < 1e-6);
        const mistral3 = await build(fixturePresets.mistral3);
        assert.equal(mistral3.metadata.get("mistral3.block_count"), 4);
    });

    it("rejects invalid specs with clear errors", async () => {
        await assert.rejects(buildFixtureModel({ embd: 60, heads: 8 }), /multiple of heads/);
        await assert.rejects(buildFixtureModel({ heads: 4, kvHeads: 3 }), /multiple of kvHeads/);
        await assert.rejects(buildFixtureModel({ layers: 4, identityLayers: [4] }), /identityLayers/);
        await assert.rejects(buildFixtureModel({ layers: 2, removeLayers: [0, 1] }), /at least one layer/);
        await assert.rejects(buildFixtureModel({ layers: 4, layerScales: [1, 1] }), /one factor per layer/);
        await assert.rejects(buildFixtureModel({ tensorType: "Q8_0", ff: 100 }), /multiples of 32/);
        await assert.rejects(buildFixtureModel({ arch: "gpt9" as never }), /unknown arch/);
        await assert.rejects(buildFixtureModel({ tensorType: "Q4_0" as never }), /unknown tensorType "Q4_0"/);
        await assert.rejects(ensureFixture("nope" as never), /unknown fixture preset "nope"/);
    });
});

describe("fixtures: ensureFixture cache", () => {
    let dir: string;
    beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), "clasp-fixtures-")); });
    afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

    it("writes a preset once, atomically, and returns the same path for concurrent callers", async () => {
        const paths = await Promise.all([ensureFixture("nofim", dir), ensureFixture("nofim", dir), ensureFixture(fixturePresets.nofim, dir)]);
        assert.equal(paths[0], paths[1]);
        const before = (await stat(paths[0]!)).mtimeMs;
        assert.equal(await ensureFixture("nofim", dir), paths[0]);
        assert.equal((await stat(paths[0]!)).mtimeMs, before);
        // Only finished files remain (no temp files), one per distinct name.
        assert.deepEqual((await readdir(dir)).sort(), [...new Set(paths.map(p => basename(p)))].sort());
        assert.deepEqual(new Uint8Array(await readFile(paths[0]!)), await buildFixtureModel(fixturePresets.nofim));
        assert.equal(metadataString(await readGgufFile(paths[0]!), "general.architecture"), "llama");
    });

    it("keys the cache by the spec: different specs, different files; key order irrelevant", async () => {
        const a = await ensureFixture({ layers: 2, embd: 32, seed: 5 }, dir);
        const b = await ensureFixture({ seed: 5, embd: 32, layers: 2 }, dir);
        const c = await ensureFixture({ layers: 2, embd: 32, seed: 6 }, dir);
        assert.equal(a, b);
        assert.notEqual(a, c);
        assert.equal((await readdir(dir)).filter(f => f.endsWith(".tmp")).length, 0);
    });
});

describe("fixtures: llama.cpp vocab source", function () {
    this.timeout(60_000);
    let dir: string;
    before(async () => { dir = await mkdtemp(join(tmpdir(), "clasp-vocab-")); });
    after(async () => { await rm(dir, { recursive: true, force: true }); });

    it("extracts a vocab file from node-llama-cpp's git bundle when no source tree exists", async () => {
        const llamaDir = join(dir, "llama");
        await mkdir(llamaDir);
        const installed = join(process.cwd(), "node_modules", "node-llama-cpp", "llama");
        await symlink(join(installed, "gitRelease.bundle"), join(llamaDir, "gitRelease.bundle"));
        const path = await llamaCppVocabFile("ggml-vocab-llama-bpe.gguf", [llamaDir], join(dir, "cache"));
        assert.ok(path.startsWith(join(dir, "cache")));
        const file = await readGgufFile(path);
        assert.equal(file.metadata.get("tokenizer.ggml.pre"), "llama-bpe");
        assert.equal((file.metadata.get("tokenizer.ggml.tokens") as string[]).length, 128256);
        await assert.rejects(llamaCppVocabFile("ggml-vocab-missing.gguf", [llamaDir], join(dir, "cache")), /could not be read from the llama.cpp bundle/);
    });

    it("fails clearly when neither a source tree nor the bundle is available", async () => {
        await assert.rejects(llamaCppVocabFile("ggml-vocab-llama-bpe.gguf", [], join(dir, "empty")), /not found: looked in .*gitRelease\.bundle/);
    });
});
