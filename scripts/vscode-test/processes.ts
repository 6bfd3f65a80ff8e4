// What a test run started, read from /proc (Linux only, like the rest of this tier): every process
// whose environment carries the run's own CLASP_ENGINE_DIR (code-server, its extension hosts, the
// engines they start detached, and anything those spawn), which of them are engines, and the
// internet sockets each one holds.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export interface ProcessInfo {
    pid: number;
    ppid: number;
    /** The kernel's short name (comm). */
    name: string;
    /** The executable's path ("" when the process is gone or not readable). */
    exe: string;
    argv: string[];
}

export interface InetSocket {
    proto: "tcp" | "tcp6" | "udp" | "udp6" | "raw" | "raw6";
    local: string;
    remote: string;
    /** tcp state name (LISTEN, ESTABLISHED, SYN_SENT, …); "" for udp and raw. */
    state: string;
}

/** The pids whose environment holds `name=value` exactly. Processes we may not read are skipped. */
export function processesWithEnv(name: string, value: string): number[] {
    const needle = Buffer.from(`${name}=${value}\0`);
    const pids: number[] = [];
    for (const pid of allPids()) {
        if (pid === process.pid) continue;
        try {
            const environ = readFileSync(`/proc/${pid}/environ`);
            // environ starts with the first variable, so the needle is either at 0 or after a NUL.
            let at = environ.indexOf(needle);
            while (at > 0 && environ[at - 1] !== 0) at = environ.indexOf(needle, at + 1);
            if (at >= 0) pids.push(pid);
        } catch {
            // Gone, a zombie, or not ours.
        }
    }
    return pids;
}

export function processInfo(pid: number): ProcessInfo | undefined {
    try {
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        // "pid (comm) state ppid …"; comm may hold spaces and parentheses, so split at the last ")".
        const close = stat.lastIndexOf(")");
        const name = stat.slice(stat.indexOf("(") + 1, close);
        const fields = stat.slice(close + 2).split(" ");
        if (fields[0] === "Z") return undefined; // A zombie has exited; only its parent's wait is missing.
        const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter((part, i, all) => part !== "" || i < all.length - 1);
        let exe = "";
        try {
            exe = readlinkSync(`/proc/${pid}/exe`);
        } catch {
            // Kernel thread or no permission.
        }
        return { pid, ppid: Number(fields[1]), name, exe, argv };
    } catch {
        return undefined;
    }
}

/** Processes of the run that are engines: started with `--dir <engineDir>` (src/client/spawnEngine.ts). */
export function engineProcesses(engineDir: string): ProcessInfo[] {
    return processesWithEnv("CLASP_ENGINE_DIR", engineDir)
        .map(processInfo)
        .filter((info): info is ProcessInfo => info !== undefined && isEngine(info, engineDir));
}

export function isEngine(info: ProcessInfo, engineDir: string): boolean {
    return info.argv.some((arg, i) => arg === "--dir" && info.argv[i + 1] === engineDir);
}

export function isAlive(pid: number): boolean {
    return processInfo(pid) !== undefined;
}

/** SIGTERM, up to `graceMs` for them to go, then SIGKILL and up to 3 s more. Returns the pids still there. */
export async function killAndWait(pids: number[], graceMs = 5_000): Promise<number[]> {
    const signal = (sig: NodeJS.Signals) => {
        for (const pid of pids) {
            try {
                process.kill(pid, sig);
            } catch {
                // Already gone.
            }
        }
    };
    const waitGone = async (ms: number) => {
        const deadline = Date.now() + ms;
        while (Date.now() < deadline && pids.some(isAlive)) await sleep(50);
        return pids.filter(isAlive);
    };
    signal("SIGTERM");
    if ((await waitGone(graceMs)).length === 0) return [];
    signal("SIGKILL");
    return waitGone(3_000);
}

/** The internet sockets `pid` has open (unix sockets are not listed). */
export function inetSockets(pid: number): InetSocket[] {
    const inodes = new Set<string>();
    try {
        for (const fd of readdirSync(`/proc/${pid}/fd`)) {
            try {
                const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
                const match = /^socket:\[(\d+)\]$/.exec(target);
                if (match) inodes.add(match[1]!);
            } catch {
                // Closed meanwhile.
            }
        }
    } catch {
        return [];
    }
    if (inodes.size === 0) return [];
    const sockets: InetSocket[] = [];
    for (const proto of ["tcp", "tcp6", "udp", "udp6", "raw", "raw6"] as const) {
        let table: string;
        try {
            table = readFileSync(`/proc/${pid}/net/${proto}`, "utf8");
        } catch {
            continue;
        }
        for (const line of table.split("\n").slice(1)) {
            const fields = line.trim().split(/\s+/);
            if (fields.length < 10 || !inodes.has(fields[9]!)) continue;
            sockets.push({
                proto,
                local: decodeAddress(fields[1]!),
                remote: decodeAddress(fields[2]!),
                state: proto.startsWith("tcp") ? (TCP_STATES[Number.parseInt(fields[3]!, 16)] ?? fields[3]!) : "",
            });
        }
    }
    return sockets;
}

const TCP_STATES: Record<number, string> = {
    1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2", 6: "TIME_WAIT",
    7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING",
};

/** "0100007F:1F90" (IPv4, host byte order words) or the 32-digit IPv6 form, as "addr:port". */
export function decodeAddress(hex: string): string {
    const [addr, port] = hex.split(":") as [string, string];
    const words = addr.match(/.{8}/g) ?? [];
    // Each 32-bit word is in the kernel's (little-endian here) byte order.
    const bytes = words.flatMap((word) => [6, 4, 2, 0].map((i) => Number.parseInt(word.slice(i, i + 2), 16)));
    const portNumber = Number.parseInt(port, 16);
    if (bytes.length === 4) return `${bytes.join(".")}:${portNumber}`;
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
    return `[${groups.join(":")}]:${portNumber}`;
}

/** True for 127.0.0.0/8, ::1 and ::ffff:127.x.y.z. */
export function isLoopback(address: string): boolean {
    const host = address.slice(0, address.lastIndexOf(":"));
    if (/^127\./.test(host)) return true;
    if (host === "[0:0:0:0:0:0:0:1]") return true;
    const mapped = /^\[0:0:0:0:0:ffff:([0-9a-f]+):([0-9a-f]+)\]$/.exec(host);
    return mapped !== null && Number.parseInt(mapped[1]!, 16) >> 8 === 127;
}

/** A remote end of 0.0.0.0:0 / [::]:0: a listening or unconnected socket. */
export function isUnconnected(address: string): boolean {
    return address === "0.0.0.0:0" || address === "[0:0:0:0:0:0:0:0]:0";
}

/** Build tools an installed extension must never start on its own. */
const BUILD_TOOLS = /^(cc|gcc|g\+\+|c\+\+|cpp|clang|clang\+\+|cc1|cc1plus|collect2|ld|ld\.\w+|as|cmake|make|gmake|ninja|node-gyp|cmake-js|xcodebuild|cl|link|npm|npx|git|curl|wget)(-[\d.]+)?$/;

/** Whether a process is a compiler, build tool or fetcher (by executable, kernel name or argv[0]/[1]). */
export function isBuildTool(info: ProcessInfo): boolean {
    const names = [path.basename(info.exe), info.name, path.basename(info.argv[0] ?? ""), path.basename(info.argv[1] ?? "")];
    return names.some((name) => BUILD_TOOLS.test(name)) || info.argv.some((arg) => /node-gyp|cmake-js|native\/build\.mjs/.test(arg));
}

function allPids(): number[] {
    return readdirSync("/proc").filter((name) => /^\d+$/.test(name)).map(Number);
}
