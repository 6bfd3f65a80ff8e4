// Watches every process of one code-server run (found by the run's CLASP_ENGINE_DIR in their
// environment) while a test drives it: which executables ran, whether any was a compiler or other
// build tool, and every internet socket each held. Samples /proc every `intervalMs`; a build
// (seconds to minutes) or a connection attempt to a host that does not answer cannot slip between
// two samples.
import { inetSockets, isEngine, isBuildTool, isLoopback, isUnconnected, processesWithEnv, processInfo, type InetSocket, type ProcessInfo } from "./processes.ts";

export interface WatchReport {
    /** Every process seen, by pid, as first seen. */
    processes: ProcessInfo[];
    /** Pids that were engines (`--dir <engineDir>`). */
    enginePids: number[];
    buildTools: ProcessInfo[];
    /** Internet sockets of engine processes (the engine speaks only over its unix socket). */
    engineInetSockets: (InetSocket & { pid: number })[];
    /** Sockets of any process of the run with a non-loopback end. */
    nonLoopbackSockets: (InetSocket & { pid: number; name: string })[];
    samples: number;
}

export class RunWatch {
    private readonly seen = new Map<number, ProcessInfo>();
    private readonly engines = new Set<number>();
    private readonly socketKeys = new Set<string>();
    private readonly engineSockets: WatchReport["engineInetSockets"] = [];
    private readonly nonLoopback: WatchReport["nonLoopbackSockets"] = [];
    private samples = 0;
    private timer?: NodeJS.Timeout;

    constructor(private readonly engineDir: string, private readonly intervalMs = 250) {}

    start(): this {
        this.sample();
        this.timer = setInterval(() => this.sample(), this.intervalMs);
        this.timer.unref();
        return this;
    }

    stop(): WatchReport {
        clearInterval(this.timer);
        this.sample();
        return this.peek();
    }

    /** What the watch has seen so far (it keeps sampling). */
    peek(): WatchReport {
        const processes = [...this.seen.values()];
        return {
            processes,
            enginePids: [...this.engines],
            buildTools: processes.filter(isBuildTool),
            engineInetSockets: this.engineSockets,
            nonLoopbackSockets: this.nonLoopback,
            samples: this.samples,
        };
    }

    private sample(): void {
        this.samples++;
        for (const pid of processesWithEnv("CLASP_ENGINE_DIR", this.engineDir)) {
            const info = this.seen.get(pid) ?? processInfo(pid);
            if (!info) continue;
            this.seen.set(pid, info);
            if (isEngine(info, this.engineDir)) this.engines.add(pid);
            for (const socket of inetSockets(pid)) {
                const key = `${pid} ${socket.proto} ${socket.local} ${socket.remote}`;
                if (this.socketKeys.has(key)) continue;
                this.socketKeys.add(key);
                if (this.engines.has(pid)) this.engineSockets.push({ ...socket, pid });
                const remoteOk = isLoopback(socket.remote) || isUnconnected(socket.remote);
                if (!isLoopback(socket.local) || !remoteOk) this.nonLoopback.push({ ...socket, pid, name: info.name });
            }
        }
    }
}

/** The checks an installed extension must pass, as failure messages (empty when it passed). */
export function watchViolations(report: WatchReport): string[] {
    const problems: string[] = [];
    if (report.enginePids.length === 0) problems.push("no engine process was ever seen (the watch would prove nothing)");
    for (const tool of report.buildTools) problems.push(`a build tool ran: pid ${tool.pid} ${tool.exe || tool.name} ${tool.argv.join(" ")}`);
    for (const socket of report.engineInetSockets)
        problems.push(`the engine (pid ${socket.pid}) opened an internet socket: ${socket.proto} ${socket.local} -> ${socket.remote} ${socket.state}`);
    for (const socket of report.nonLoopbackSockets)
        problems.push(`${socket.name} (pid ${socket.pid}) has a non-loopback socket: ${socket.proto} ${socket.local} -> ${socket.remote} ${socket.state}`);
    return problems;
}

export function describeWatch(report: WatchReport): string {
    const executables = new Map<string, number>();
    for (const info of report.processes) {
        const name = info.exe || info.name;
        executables.set(name, (executables.get(name) ?? 0) + 1);
    }
    const list = [...executables].map(([exe, count]) => `${exe} ×${count}`).join(", ");
    // Everything that is not the Node that runs code-server, its hosts and the engine, in full.
    const node = report.processes.find((info) => report.enginePids.includes(info.pid))?.exe;
    const others = report.processes.filter((info) => info.exe !== node).map((info) => `[${info.argv.join(" ").slice(0, 160)}]`);
    return `${report.processes.length} processes in ${report.samples} samples (${list}); engines ${report.enginePids.join(", ") || "none"}; ` +
        `${report.buildTools.length} build tools, ${report.engineInetSockets.length} engine internet sockets, ${report.nonLoopbackSockets.length} non-loopback sockets` +
        (others.length > 0 ? `; other processes: ${others.join(" ")}` : "");
}
