// One client's socket, from the first byte to the close: the handshake (token, version), then
// checked frames handed to an rpc Channel. Anything malformed closes this connection with a
// logged reason; nothing a peer sends can throw out of here into the engine.
import type { Socket } from "node:net";
import type { Channel, Message } from "../rpc.ts";
import { FrameError, FrameReader, encodeFrame, maxFrameBytes, maxHelloBytes, parseClientFrame, parseHello, type Hello, type RefusalCode } from "./wire.ts";

export interface ConnectionHooks {
    /** Checks a hello; returns a refusal, or undefined to accept. */
    admit(hello: Hello): { code: RefusalCode; reason: string } | undefined;
    welcome(): unknown;
    refusal(code: RefusalCode, reason: string): unknown;
    opened(connection: Connection): void;
    closed(connection: Connection): void;
    focus(connection: Connection, focused: boolean): void;
    /** Whether the engine answers `method` (unknown ones get an error reply, and a log line). */
    knows(connection: Connection, method: string): boolean;
    log(line: string): void;
}

export class Connection {
    /** Set once the hello is accepted. */
    hello?: Hello;
    readonly label: string;
    private readonly reader = new FrameReader(maxHelloBytes);
    private readonly listeners = new Set<(message: Message) => void>();
    private readonly helloTimer: NodeJS.Timeout;
    private closedReason?: string;

    readonly channel: Channel = {
        send: (message) => this.write(message),
        onMessage: (listener) => {
            this.listeners.add(listener);
            return () => this.listeners.delete(listener);
        },
    };

    constructor(private readonly socket: Socket, private readonly hooks: ConnectionHooks, id: number, helloTimeoutMs: number) {
        this.label = `connection ${id}`;
        this.helloTimer = setTimeout(() => this.close(`no hello within ${helloTimeoutMs} ms`), helloTimeoutMs);
        socket.on("data", (chunk: Buffer) => this.receive(chunk));
        socket.on("error", (error) => this.close(`socket error: ${error.message}`));
        socket.on("close", () => {
            if (this.reader.pendingBytes > 0) this.close(`hung up in the middle of a frame (${this.reader.pendingBytes} bytes unread)`);
            else this.close();
        });
    }

    get isOpen(): boolean {
        return this.hello !== undefined && this.closedReason === undefined;
    }

    get isClosed(): boolean {
        return this.closedReason !== undefined;
    }

    /**
     * Closes the socket; a reason is logged (a plain hang-up after the handshake is not news).
     * `flush` lets what was written (a refusal) reach the peer first, for at most a second.
     */
    close(reason?: string, flush = false): void {
        if (this.closedReason !== undefined) return;
        this.closedReason = reason ?? "closed";
        clearTimeout(this.helloTimer);
        if (reason) this.hooks.log(`${this.describe()} closed: ${reason}`);
        if (flush) {
            this.socket.end();
            setTimeout(() => this.socket.destroy(), 1000).unref();
        } else this.socket.destroy();
        if (this.hello) this.hooks.closed(this);
    }

    describe(): string {
        return this.hello ? `${this.label} (${this.hello.client})` : this.label;
    }

    private write(value: unknown): void {
        if (this.closedReason !== undefined || this.socket.destroyed) return;
        // A client that stops reading must not make the engine buffer without bound.
        if (this.socket.writableLength > maxFrameBytes) return this.close("not reading its replies");
        this.socket.write(encodeFrame(value));
    }

    private receive(chunk: Buffer): void {
        if (this.closedReason !== undefined) return;
        let frames: unknown[];
        try {
            frames = this.reader.push(chunk);
        } catch (error) {
            return this.close(error instanceof FrameError ? error.message : `unreadable input: ${String(error)}`);
        }
        for (const frame of frames) {
            if (this.closedReason !== undefined) return;
            try {
                if (this.hello) this.handle(frame);
                else this.handshake(frame);
            } catch (error) {
                this.close(`failed to handle a frame: ${error instanceof Error ? error.message : String(error)}`);
            }
        }
    }

    private handshake(frame: unknown): void {
        const hello = parseHello(frame);
        if (typeof hello === "string") return this.refuse("BAD_HELLO", hello);
        const refusal = this.hooks.admit(hello);
        if (refusal) return this.refuse(refusal.code, refusal.reason);
        clearTimeout(this.helloTimer);
        this.hello = hello;
        this.reader.limit = maxFrameBytes;
        this.write(this.hooks.welcome());
        this.hooks.opened(this);
    }

    private refuse(code: RefusalCode, reason: string): void {
        this.write(this.hooks.refusal(code, reason));
        this.close(`refused (${code}): ${reason}`, true);
    }

    private handle(frame: unknown): void {
        const message = parseClientFrame(frame);
        if (typeof message === "string") return this.close(`malformed frame: ${message}`);
        if (message.kind === "focus") return this.hooks.focus(this, message.focused);
        if (message.kind === "request" && !this.hooks.knows(this, message.method)) {
            this.hooks.log(`${this.describe()} asked for the unknown method ${JSON.stringify(String(message.method)).slice(0, 60)}`);
            this.write({ kind: "error", id: message.id, error: { name: "EngineError", message: `Unknown method "${String(message.method).slice(0, 60)}"`, code: "UNKNOWN_METHOD" } });
            return;
        }
        for (const listener of this.listeners) listener(message);
    }
}
