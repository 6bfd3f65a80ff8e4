// The bytes on the engine socket: frames of a 4-byte big-endian length and that many bytes of
// UTF-8 JSON. The first frame each way is the handshake (hello → welcome or refused); after it,
// rpc Messages flow both ways and a client may send focus notes. Everything a peer sends is
// checked here before anything acts on it, so a malformed frame closes one connection, never the
// engine.
import type { EngineMethods, EngineStatus } from "../protocol.ts";
import type { Message } from "../rpc.ts";

/** Bumped whenever the wire format or the meaning of a message changes. */
export const wireProtocolVersion = 1;

/** Requests carry whole documents (prefix, suffix, open files); nothing legitimate comes close. */
export const maxFrameBytes = 32 * 1024 * 1024;
/** Before the handshake only a hello may arrive, and it is tiny. */
export const maxHelloBytes = 4 * 1024;

export interface Hello {
    kind: "hello";
    token: string;
    version: string;
    protocol: number;
    /** Who is asking, for the engine's log: e.g. "window 1234 (my-project)". */
    client: string;
    /** How long the engine stays up after its last client leaves; the latest window's setting wins. */
    idleExitMs?: number;
    focused?: boolean;
}

export interface Welcome {
    kind: "welcome";
    version: string;
    protocol: number;
    pid: number;
    status: EngineStatus;
}

export type RefusalCode = "BAD_TOKEN" | "VERSION_MISMATCH" | "BAD_HELLO";

export interface Refused {
    kind: "refused";
    code: RefusalCode;
    reason: string;
    version: string;
    protocol: number;
}

/** The window this connection belongs to gained or lost the user's focus. */
export interface Focus {
    kind: "focus";
    focused: boolean;
}

export type ClientFrame = Hello | Focus | Extract<Message, { kind: "request" | "cancel" }>;

export function encodeFrame(value: unknown): Buffer {
    const body = Buffer.from(JSON.stringify(value), "utf8");
    const header = Buffer.alloc(4);
    header.writeUInt32BE(body.length, 0);
    return Buffer.concat([header, body]);
}

export class FrameError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "FrameError";
    }
}

/**
 * Splits a byte stream into parsed frames. A frame announced larger than the limit is an error
 * before its body is read (so nobody can make the engine buffer it); so is a body that is not
 * JSON.
 */
export class FrameReader {
    private buffered: Buffer = Buffer.alloc(0);

    constructor(public limit: number) {}

    /** The frames completed by `chunk`. Throws FrameError on an oversized or unparsable frame. */
    push(chunk: Buffer): unknown[] {
        this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
        const frames: unknown[] = [];
        while (this.buffered.length >= 4) {
            const length = this.buffered.readUInt32BE(0);
            if (length > this.limit) throw new FrameError(`frame of ${length} bytes is over the ${this.limit}-byte limit`);
            if (this.buffered.length < 4 + length) break;
            const body = this.buffered.subarray(4, 4 + length).toString("utf8");
            this.buffered = this.buffered.subarray(4 + length);
            try {
                frames.push(JSON.parse(body));
            } catch {
                throw new FrameError(`frame is not JSON (starts ${JSON.stringify(body.slice(0, 32))})`);
            }
        }
        return frames;
    }

    /** Bytes of a frame that has started but not finished (a peer that hangs up mid-frame). */
    get pendingBytes(): number {
        return this.buffered.length;
    }
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
const isId = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) > 0;

/** The hello, or why the first frame is not one. */
export function parseHello(frame: unknown): Hello | string {
    if (!isObject(frame) || frame.kind !== "hello") return "the first frame is not a hello";
    if (typeof frame.token !== "string" || typeof frame.version !== "string" || typeof frame.protocol !== "number" || typeof frame.client !== "string")
        return "the hello lacks token, version, protocol or client";
    if (frame.idleExitMs !== undefined && !(typeof frame.idleExitMs === "number" && frame.idleExitMs >= 0)) return "the hello's idleExitMs is not a duration";
    return {
        kind: "hello",
        token: frame.token,
        version: frame.version,
        protocol: frame.protocol,
        client: frame.client.slice(0, 200),
        idleExitMs: frame.idleExitMs as number | undefined,
        focused: frame.focused === true,
    };
}

/** A frame after the handshake, or why it is malformed. Unknown methods pass: rpc answers those. */
export function parseClientFrame(frame: unknown): Exclude<ClientFrame, Hello> | string {
    if (!isObject(frame)) return "frame is not an object";
    switch (frame.kind) {
        case "focus":
            return typeof frame.focused === "boolean" ? { kind: "focus", focused: frame.focused } : "focus frame without a boolean";
        case "cancel":
            return isId(frame.id) ? { kind: "cancel", id: frame.id } : "cancel frame without a valid id";
        case "request":
            if (!isId(frame.id)) return "request frame without a valid id";
            if (typeof frame.method !== "string") return "request frame without a method name";
            return { kind: "request", id: frame.id, method: frame.method as keyof EngineMethods, params: frame.params };
        default:
            return `unknown frame kind ${JSON.stringify(String(frame.kind)).slice(0, 40)}`;
    }
}
