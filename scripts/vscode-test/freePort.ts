// Lets the OS pick a port that is free right now on the loopback interface, so parallel runs and
// leftovers from a crashed run never collide on a fixed port.
import net from "node:net";

export function findFreePort(host = "127.0.0.1"): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.unref();
        server.once("error", reject);
        server.listen(0, host, () => {
            const address = server.address();
            if (address === null || typeof address === "string") {
                server.close();
                reject(new Error("could not read the probe server's port"));
                return;
            }
            server.close(() => resolve(address.port));
        });
    });
}
