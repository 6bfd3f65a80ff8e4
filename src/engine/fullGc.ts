// A full, synchronous V8 garbage collection on demand, without asking whoever starts the process
// for --expose-gc (VS Code's Electron, plain Node and the tests all start the engine differently):
// the flag is set at run time and `gc` read from a context created after it.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let gc: (() => void) | undefined;

export function fullGc(): void {
    if (!gc) {
        setFlagsFromString("--expose-gc");
        gc = runInNewContext("gc") as () => void;
    }
    gc();
}
