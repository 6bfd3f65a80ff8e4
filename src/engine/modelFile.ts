// Checks a model file before llama.cpp sees it, so bad input becomes one clear sentence instead
// of a native abort: missing path, directory, empty/non-GGUF bytes, a header that does not
// parse, tensor data past the end of the file (truncated download).
import { open, stat } from "node:fs/promises";
import { readGgufFileInfo, type GgufFileInfo } from "node-llama-cpp";
import { EngineError } from "./rpc.ts";

export interface ModelFileSummary {
    architecture: string;
    name: string;
    /** The parsed header, so loading need not read it again. */
    gguf: GgufFileInfo;
}

export class ModelFileError extends EngineError {
    constructor(message: string, code: string) {
        super(message, code, "ModelFileError");
    }
}

const ggufMagic = "GGUF";

export async function inspectModelFile(path: string): Promise<ModelFileSummary> {
    const info = await stat(path).catch(() => null);
    if (!info) throw new ModelFileError(`Model file not found: ${path}`, "MODEL_NOT_FOUND");
    if (!info.isFile()) throw new ModelFileError(`Model path is not a file: ${path}`, "MODEL_NOT_FILE");
    if (info.size < 32) throw new ModelFileError(`Model file is empty or truncated (${info.size} bytes): ${path}`, "MODEL_CORRUPT");

    const magic = await readMagic(path);
    if (magic !== ggufMagic)
        throw new ModelFileError(`Not a GGUF model file (starts with ${JSON.stringify(magic)}): ${path}`, "MODEL_NOT_GGUF");

    let gguf: GgufFileInfo;
    try {
        gguf = await readGgufFileInfo(path, { sourceType: "filesystem", logWarnings: false, spliceSplitFiles: false });
    } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new ModelFileError(`Corrupt or truncated GGUF file (${reason}): ${path}`, "MODEL_CORRUPT");
    }
    const architecture = String(gguf.metadata?.general?.architecture ?? "");
    if (!architecture) throw new ModelFileError(`GGUF file names no architecture: ${path}`, "MODEL_CORRUPT");

    // Every tensor must start inside the file; a cut-off download fails here, not in llama.cpp.
    const headerBytes = Number(gguf.totalMetadataSize ?? 0) + Number(gguf.totalTensorInfoSize ?? 0);
    const lastOffset = Math.max(0, ...(gguf.fullTensorInfo ?? gguf.tensorInfo ?? []).map((t) => Number(t.offset)));
    if (headerBytes > 0 && headerBytes + lastOffset >= info.size)
        throw new ModelFileError(`Truncated GGUF file (tensor data ends past ${info.size} bytes): ${path}`, "MODEL_CORRUPT");

    return { architecture, name: String(gguf.metadata?.general?.name ?? ""), gguf };
}

async function readMagic(path: string): Promise<string> {
    const handle = await open(path, "r");
    try {
        const buffer = Buffer.alloc(4);
        await handle.read(buffer, 0, 4, 0);
        return buffer.toString("latin1");
    } finally {
        await handle.close();
    }
}
