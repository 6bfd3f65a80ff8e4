// Completion text exactly as the model wrote it: the concatenation of its tokens' pieces.
// llama.cpp's detokenize is not that: it applies the vocabulary's clean-up rules (LLaMA-3's
// `llama-bpe` turns `a ?? b` into `a?? b`), and a token that ends inside a multi-byte character
// comes back with U+FFFD in it. So the engine builds each token's bytes from the vocabulary the
// way llama_token_to_piece does (special tokens render as nothing), and decodes the byte stream
// incrementally, holding back a character until all its bytes have arrived.
import type { LlamaModel, Token } from "node-llama-cpp";

export type PieceOf = (token: Token) => Uint8Array;

const utf8 = new TextEncoder();
const empty = new Uint8Array(0);

/** Each token's bytes for this model's vocabulary, built on first use of a token. */
export function piecesOf(model: LlamaModel): PieceOf {
    const ggml = model.fileInfo.metadata.tokenizer?.ggml as { model?: string; tokens?: readonly string[] } | undefined;
    const texts = ggml?.tokens;
    const textOf = textDecoderFor(ggml?.model, texts);
    const cache = new Map<Token, Uint8Array>();
    return (token) => {
        let piece = cache.get(token);
        if (piece) return piece;
        const text = texts?.[token];
        if (!textOf || text === undefined) {
            // A vocabulary type we have no byte rules for: llama.cpp's own text of the lone token.
            piece = utf8.encode(model.detokenize([token]));
        } else {
            const attributes = model.getTokenAttributes(token);
            if (attributes.control || attributes.unknown) piece = empty;
            else if (attributes.userDefined) piece = utf8.encode(text);
            else if (attributes.byte) piece = Uint8Array.of(Number.parseInt(/^<0x([0-9A-Fa-f]{2})>$/.exec(text)?.[1] ?? "", 16) || 0);
            else if (attributes.normal) piece = textOf(text);
            else piece = empty;
        }
        cache.set(token, piece);
        return piece;
    };
}

/**
 * How a normal token's text becomes bytes. GPT-2-style byte-level BPE stores every byte as one
 * printable character; SentencePiece-style vocabularies (and the BPE ones llama.cpp treats the
 * same way) store text with ▁ for a space. A byte-level vocabulary never holds a character above
 * U+0143, so the presence of ▁ tells the two apart without a second list of tokenizer names.
 */
function textDecoderFor(kind: string | undefined, texts: readonly string[] | undefined): ((text: string) => Uint8Array) | undefined {
    if (!texts) return undefined;
    const spaceEscaped = (text: string) => utf8.encode(text.replaceAll("\u2581", " "));
    if (kind === "llama") return spaceEscaped;
    if (kind !== "gpt2") return undefined;
    if (texts.some((text) => text.includes("\u2581"))) return spaceEscaped;
    const byteOf = byteLevelTable();
    return (text) => {
        const bytes = new Uint8Array(text.length);
        let n = 0;
        for (const char of text) {
            const byte = byteOf.get(char.codePointAt(0)!);
            if (byte === undefined) return utf8.encode(text); // not byte-level after all: keep it as written
            bytes[n++] = byte;
        }
        return bytes.subarray(0, n);
    };
}

/** GPT-2's byte ↔ character map: printable bytes stand for themselves, the rest map above U+00FF. */
function byteLevelTable(): Map<number, number> {
    const table = new Map<number, number>();
    const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    let next = 0x100;
    for (let b = 0; b < 256; b++) table.set(printable(b) ? b : next++, b);
    return table;
}

/** The text of a growing token sequence, decoded incrementally (O(new tokens) per call). */
export class TokenText {
    private readonly decoder = new TextDecoder("utf-8");
    private value = "";

    constructor(private readonly pieceOf: PieceOf) {}

    /** Adds tokens; returns the text they completed (a character split across tokens waits for its last byte). */
    push(tokens: readonly Token[]): string {
        let added = "";
        for (const token of tokens) added += this.decoder.decode(this.pieceOf(token), { stream: true });
        this.value += added;
        return added;
    }

    /** Everything complete so far. Bytes of an unfinished last character are never included. */
    get text(): string {
        return this.value;
    }
}
