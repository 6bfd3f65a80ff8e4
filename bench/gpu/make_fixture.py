#!/usr/bin/env python3
"""Writes a random-weight LLaMA GGUF fixture with nothing but the standard library.

The GPU machine has python3 but no Node (so not src/fixtures/) and maybe no numpy (so not
llama.cpp's gguf-py). Same layout as src/fixtures/fixtureModel.ts: Q8_0 matrices, F32 norms of
ones, tied embeddings, a byte-level "gpt2" vocabulary (the 256 bytes, two whitespace merges,
<|endoftext|>) padded with filler tokens to the vocabulary size asked for. Layers listed in
--identity have zero attn_output and ffn_down, so each is an exact identity: layer-skip drafts
that skip them are always right (the synthetic best case). Weights come from one seeded
pseudo-random pool, read at a different offset per tensor: fast enough for billions of weights.

usage: make_fixture.py OUT.gguf --layers 32 --embd 4096 --ff 14336 --heads 32 --kv-heads 8
                       [--vocab 32000] [--identity 2,4,6] [--std S] [--seed N]
"""
import argparse
import math
import random
import struct
import sys

GGUF_VERSION = 3
ALIGNMENT = 32
TYPE_F32, TYPE_Q8_0 = 0, 8
Q8_0_BLOCK = 32  # values per block: an f16 scale and 32 int8
UNIFORM_INT8_STD = math.sqrt((256 ** 2 - 1) / 12)  # std of a uniform byte read as int8
POOL_BYTES = 64 * 1024 * 1024

# gguf metadata value types
U32, I32, F32, BOOL, STRING, ARRAY = 4, 5, 6, 7, 8, 9


def byte_to_unicode():
    """GPT-2's table: printable bytes stand for themselves, the others for U+0100 onwards."""
    def printable(b):
        return 0x21 <= b <= 0x7E or 0xA1 <= b <= 0xAC or 0xAE <= b <= 0xFF
    table, extra = [], 0
    for b in range(256):
        if printable(b):
            table.append(chr(b))
        else:
            table.append(chr(256 + extra))
            extra += 1
    return table


def vocabulary(size):
    pieces = byte_to_unicode()
    space = pieces[0x20]
    merges = [f"{space} {space}", f"{space}{space} {space}{space}"]
    tokens = pieces + [m.replace(" ", "") for m in merges]
    types = [1] * len(tokens)
    tokens.append("<|endoftext|>")
    types.append(3)  # control
    eos = len(tokens) - 1
    filler = 0
    while len(tokens) < size:
        tokens.append(f"<f{filler}>")
        types.append(1)
        filler += 1
    return tokens, types, merges, eos


class Writer:
    def __init__(self, out):
        self.out = out

    def raw(self, data):
        self.out.write(data)

    def u32(self, v):
        self.raw(struct.pack("<I", v))

    def u64(self, v):
        self.raw(struct.pack("<Q", v))

    def string(self, s):
        data = s.encode("utf-8")
        self.u64(len(data))
        self.raw(data)

    def kv(self, key, kind, value, item_kind=None):
        self.string(key)
        self.u32(kind)
        if kind == ARRAY:
            self.u32(item_kind)
            self.u64(len(value))
            for item in value:
                self.value(item_kind, item)
        else:
            self.value(kind, value)

    def value(self, kind, v):
        if kind == U32:
            self.u32(v)
        elif kind == I32:
            self.raw(struct.pack("<i", v))
        elif kind == F32:
            self.raw(struct.pack("<f", v))
        elif kind == BOOL:
            self.raw(struct.pack("<?", v))
        elif kind == STRING:
            self.string(v)
        else:
            raise ValueError(f"unsupported metadata type {kind}")


def q8_0_bytes(count, std, pool, offset):
    """`count` values as Q8_0 blocks: random int8 from the pool, one scale giving them `std`."""
    blocks = count // Q8_0_BLOCK
    size = blocks * 34
    data = bytearray(size)
    if std == 0:
        return data  # scale 0: exact zeros
    # tile the pool from `offset`, then overwrite each block's first two bytes with the scale
    position = 0
    while position < size:
        start = (offset + position) % len(pool)
        take = min(size - position, len(pool) - start)
        data[position:position + take] = pool[start:start + take]
        position += take
    scale = struct.pack("<e", std / UNIFORM_INT8_STD)
    data[0::34] = scale[0:1] * blocks
    data[1::34] = scale[1:2] * blocks
    return data


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--layers", type=int, required=True)
    parser.add_argument("--embd", type=int, required=True)
    parser.add_argument("--ff", type=int, required=True)
    parser.add_argument("--heads", type=int, required=True)
    parser.add_argument("--kv-heads", type=int, required=True)
    parser.add_argument("--vocab", type=int, default=32000)
    parser.add_argument("--context", type=int, default=4096)
    parser.add_argument("--identity", default="", help="comma-separated layer indices")
    parser.add_argument("--std", type=float, help="weight std (default 16/sqrt(embd), as the CPU bench's half-identity fixture)")
    parser.add_argument("--seed", type=int, default=1234)
    args = parser.parse_args()

    identity = {int(i) for i in args.identity.split(",") if i.strip()}
    if any(i < 0 or i >= args.layers for i in identity):
        sys.exit(f"--identity: layers are 0..{args.layers - 1}")
    head_dim = args.embd // args.heads
    if args.embd % args.heads or args.heads % args.kv_heads:
        sys.exit("--embd must divide by --heads, and --heads by --kv-heads")
    kv_width = args.kv_heads * head_dim
    for width in (args.embd, args.ff, kv_width):
        if width % Q8_0_BLOCK:
            sys.exit(f"every matrix row must be a multiple of {Q8_0_BLOCK} values (got {width})")
    std = args.std if args.std is not None else 16 / math.sqrt(args.embd)
    tokens, types, merges, eos = vocabulary(max(args.vocab, 259 + 1))

    tensors = [("token_embd.weight", [args.embd, len(tokens)], TYPE_Q8_0, std)]
    for il in range(args.layers):
        out_std = 0.0 if il in identity else std
        tensors += [
            (f"blk.{il}.attn_norm.weight", [args.embd], TYPE_F32, None),
            (f"blk.{il}.attn_q.weight", [args.embd, args.embd], TYPE_Q8_0, std),
            (f"blk.{il}.attn_k.weight", [args.embd, kv_width], TYPE_Q8_0, std),
            (f"blk.{il}.attn_v.weight", [args.embd, kv_width], TYPE_Q8_0, std),
            (f"blk.{il}.attn_output.weight", [args.embd, args.embd], TYPE_Q8_0, out_std),
            (f"blk.{il}.ffn_norm.weight", [args.embd], TYPE_F32, None),
            (f"blk.{il}.ffn_gate.weight", [args.embd, args.ff], TYPE_Q8_0, std),
            (f"blk.{il}.ffn_up.weight", [args.embd, args.ff], TYPE_Q8_0, std),
            (f"blk.{il}.ffn_down.weight", [args.ff, args.embd], TYPE_Q8_0, out_std),
        ]
    tensors.append(("output_norm.weight", [args.embd], TYPE_F32, None))

    def nbytes(dims, kind):
        count = math.prod(dims)
        return count * 4 if kind == TYPE_F32 else count // Q8_0_BLOCK * 34

    pool = random.Random(args.seed).randbytes(POOL_BYTES)
    with open(args.out, "wb") as out:
        w = Writer(out)
        arch = "llama"
        metadata = [
            ("general.architecture", STRING, arch),
            ("general.name", STRING, "clasp-gpu-fixture"),
            ("general.alignment", U32, ALIGNMENT),
            (f"{arch}.context_length", U32, args.context),
            (f"{arch}.embedding_length", U32, args.embd),
            (f"{arch}.block_count", U32, args.layers),
            (f"{arch}.feed_forward_length", U32, args.ff),
            (f"{arch}.attention.head_count", U32, args.heads),
            (f"{arch}.attention.head_count_kv", U32, args.kv_heads),
            (f"{arch}.rope.dimension_count", U32, head_dim),
            (f"{arch}.rope.freq_base", F32, 10000.0),
            (f"{arch}.attention.layer_norm_rms_epsilon", F32, 1e-5),
            ("tokenizer.ggml.model", STRING, "gpt2"),
            ("tokenizer.ggml.pre", STRING, "qwen2"),
        ]
        arrays = [
            ("tokenizer.ggml.tokens", STRING, tokens),
            ("tokenizer.ggml.token_type", I32, types),
            ("tokenizer.ggml.merges", STRING, merges),
        ]
        ids = [("tokenizer.ggml.bos_token_id", U32, eos), ("tokenizer.ggml.eos_token_id", U32, eos), ("tokenizer.ggml.add_bos_token", BOOL, False)]
        w.raw(b"GGUF")
        w.u32(GGUF_VERSION)
        w.u64(len(tensors))
        w.u64(len(metadata) + len(arrays) + len(ids))
        for key, kind, value in metadata + ids:
            w.kv(key, kind, value)
        for key, kind, values in arrays:
            w.kv(key, ARRAY, values, kind)
        offset = 0
        for name, dims, kind, _ in tensors:
            w.string(name)
            w.u32(len(dims))
            for d in dims:
                w.u64(d)
            w.u32(kind)
            w.u64(offset)
            offset += -(-nbytes(dims, kind) // ALIGNMENT) * ALIGNMENT
        w.raw(b"\0" * (-out.tell() % ALIGNMENT))
        for index, (name, dims, kind, tensor_std) in enumerate(tensors):
            if kind == TYPE_F32:
                data = struct.pack("<f", 1.0) * math.prod(dims)
            else:
                data = q8_0_bytes(math.prod(dims), tensor_std, pool, index * 7919 * 4096)
            w.raw(data)
            w.raw(b"\0" * (-len(data) % ALIGNMENT))
    print(f"{args.out}: {args.layers} layers, d={args.embd}, ff={args.ff}, vocab {len(tokens)}, "
          f"{len(identity)} identity layers, {offset / 2**30:.2f} GiB")


if __name__ == "__main__":
    main()
