// Entry point of the engine process, forked by the extension. It serves the Engine over the
// IPC channel and exits when its parent goes away, so no orphaned model stays in memory.
import process from "node:process";
import { Engine } from "./engine.ts";
import { createEngineHandlers } from "./handlers.ts";
import { serve, type Channel, type Message } from "./rpc.ts";

if (!process.send) {
    console.error("The CLaSp engine must be started by the extension (it talks over an IPC channel).");
    process.exit(2);
}

const channel: Channel = {
    send: (message) => { process.send?.(message); },
    onMessage: (listener) => {
        const handler = (message: unknown) => listener(message as Message);
        process.on("message", handler);
        return () => process.off("message", handler);
    },
};

const engine = new Engine();
const server = serve(channel, createEngineHandlers(engine));
engine.on("status", (status) => server.emit("status", status));
engine.on("stats", (stats) => server.emit("stats", stats));
engine.on("log", (entry) => server.emit("log", entry));

process.on("disconnect", () => {
    server.close();
    void engine.dispose().finally(() => process.exit(0));
});

