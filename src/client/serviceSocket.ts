// The window's end of the engine socket: connect, say hello with the token, and get the welcome
// (or the reason for a refusal); afterwards the socket carries rpc Messages as frames.
import { connect, type Socket } from "node:net";
import { readToken } from "../engine/service/credentials.ts";
import type { ServiceLocation } from "../engine/service/location.ts";
import { FrameReader, encodeFrame, maxFrameBytes, wireProtocolVersion, type Hello, type Refused, type Welcome } from "../engine/service/wire.ts";
import type { Channel, Message } from "../engine/rpc.ts";

export type ConnectAttempt =
    | { kind: "open"; socket: Socket; welcome: Welcome; channel: Channel }
    /** No engine answers there (no token, no socket, or a dead one): start one. */
    | { kind: "absent"; reason: string }
    | { kind: "refused"; refused: Refused };

const handshakeTimeoutMs = 5000;

export function connectToService(location: ServiceLocation, hello: Omit<Hello, "kind" | "token" | "protocol">): Promise<ConnectAttempt> {
    const token = readToken(location.token);
    if (!token) return Promise.resolve({ kind: "absent", reason: "no token file" });
    return new Promise((resolve) => {
        const socket = connect(location.socket);
        const reader = new FrameReader(maxFrameBytes);
        let settled = false;
        const finish = (attempt: ConnectAttempt) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            socket.off("data", onHandshakeData);
            if (attempt.kind !== "open") socket.destroy();
            resolve(attempt);
        };
        const timer = setTimeout(() => finish({ kind: "absent", reason: "no welcome in time" }), handshakeTimeoutMs);
        socket.on("error", (error) => finish({ kind: "absent", reason: error.message }));
        socket.on("close", () => finish({ kind: "absent", reason: "closed during the handshake" }));
        socket.on("connect", () => socket.write(encodeFrame({ kind: "hello", token, protocol: wireProtocolVersion, ...hello })));
        const onHandshakeData = (chunk: Buffer) => {
            let frames: unknown[];
            try {
                frames = reader.push(chunk);
            } catch (error) {
                return finish({ kind: "absent", reason: `unreadable handshake: ${String(error)}` });
            }
            const [first, ...rest] = frames as (Welcome | Refused | Message)[];
            if (!first) return;
            if (first.kind === "refused") return finish({ kind: "refused", refused: first });
            if (first.kind !== "welcome") return finish({ kind: "absent", reason: "the engine did not answer with a welcome" });
            finish({ kind: "open", socket, welcome: first, channel: frameChannel(socket, reader, rest as Message[]) });
        };
        socket.on("data", onHandshakeData);
    });
}

/**
 * rpc over the socket's frames; `early` are frames that arrived with the welcome. Frames are held
 * until the first listener subscribes and handed over a microtask later, once the caller has
 * subscribed the rest: a status event that rode in with the welcome (a model that finished loading
 * just then) must not be lost, or the window waits on "loading" for ever.
 */
function frameChannel(socket: Socket, reader: FrameReader, early: Message[]): Channel {
    const listeners = new Set<(message: Message) => void>();
    let held: Message[] | undefined = [...early];
    const deliver = (message: Message) => {
        if (held) held.push(message);
        else for (const listener of listeners) listener(message);
    };
    socket.on("data", (chunk: Buffer) => {
        try {
            for (const frame of reader.push(chunk)) deliver(frame as Message);
        } catch {
            // An engine that sends garbage is broken: drop it, which reads as a crash.
            socket.destroy();
        }
    });
    return {
        send: (message) => { if (!socket.destroyed) socket.write(encodeFrame(message)); },
        onMessage: (listener) => {
            listeners.add(listener);
            if (held) {
                const frames = held;
                held = undefined;
                queueMicrotask(() => frames.forEach(deliver));
            }
            return () => listeners.delete(listener);
        },
    };
}
