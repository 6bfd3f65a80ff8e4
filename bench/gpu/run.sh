#!/usr/bin/env bash
# The GPU benchmark, for a bare CUDA machine: nvcc, cmake, a C++ compiler, python3; no Node, no
# network. Brought along (bench/gpu/prepare.ts writes it here first): bench/gpu/.work/ with the
# patched llama.cpp source and the held-out prompts. It builds llama.cpp for this GPU with our
# patch, writes random-weight fixtures here (any size: nothing is uploaded), and runs plain greedy
# decoding against static layer skip and CLaSp on each (bench/gpu/clasp_gpu_bench.cpp), writing
# one JSON per model and a summary into $GPU_BENCH_OUT (default $OUT). Within 9 minutes on an H200.
#
#   GPU_BENCH_OUT=DIR bash bench/gpu/run.sh
#   GPU_BENCH_BACKEND=cpu   the rehearsal on a machine without a GPU: small fixtures, CPU build
#   GPU_BENCH_MODELS=DIR    real GGUF models to bench as well, when brought (SmolLM2 is 98 MB, over
#                           the 64 MiB the device takes, so there it is usually absent)
set -euo pipefail

started=$SECONDS
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${GPU_BENCH_OUT:-${OUT:-}}"
[ -n "$out" ] || { echo "run.sh: set GPU_BENCH_OUT (or OUT) to the folder for the results" >&2; exit 2; }
mkdir -p "$out"
out="$(cd "$out" && pwd)"
work="${GPU_BENCH_WORK:-${TMPDIR:-/tmp}/clasp-gpu-bench}"
prepared="$here/.work"
[ -f "$prepared/llama.cpp.tar.gz" ] && [ -d "$prepared/prompts" ] ||
    { echo "run.sh: $prepared is missing: run \`node --import tsx bench/gpu/prepare.ts\` where Node is, and bring bench/gpu/.work along" >&2; exit 2; }

if [ -z "${GPU_BENCH_BACKEND:-}" ]; then
    if command -v nvcc >/dev/null; then GPU_BENCH_BACKEND=cuda; else GPU_BENCH_BACKEND=cpu; fi
fi
log() { printf '[%4ds] %s\n' $((SECONDS - started)) "$*" | tee -a "$out/run.log" >&2; }
jobs="$(nproc)"

# The decoder's defaults, as src/engine/protocol.ts has them (a unit test holds these equal).
gamma=8
min_confidence=0.7
skip_ratio=0.5
update_interval=32

{
    echo "backend: $GPU_BENCH_BACKEND"
    uname -a
    nproc
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap --format=csv
    command -v nvcc >/dev/null && nvcc --version | tail -n 2
    cmake --version | head -n 1
    python3 --version
} > "$out/machine.txt" 2>&1 || true

log "unpacking the patched llama.cpp into $work"
rm -rf "$work"
mkdir -p "$work/llama.cpp" "$work/fixtures"
tar -xzf "$prepared/llama.cpp.tar.gz" -C "$work/llama.cpp"

cmake_args=(-DCMAKE_BUILD_TYPE=Release -DLLAMA_CPP_DIR="$work/llama.cpp" -DGGML_NATIVE=OFF -DBUILD_SHARED_LIBS=OFF -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF)
if [ "$GPU_BENCH_BACKEND" = cuda ]; then
    arch="$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n 1 | tr -d '. ')"
    # one architecture and no flash-attention kernels: the build fits the time budget (FA is off at run time too)
    cmake_args+=(-DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="${arch:-native}" -DGGML_CUDA_FA=OFF -DGGML_CUDA_NCCL=OFF)
fi
log "configuring ($GPU_BENCH_BACKEND)"
cmake -S "$here" -B "$work/build" "${cmake_args[@]}" > "$out/cmake.log" 2>&1 || { tail -n 30 "$out/cmake.log" >&2; exit 1; }
log "building with $jobs jobs"
cmake --build "$work/build" --target clasp_gpu_bench -j "$jobs" > "$out/build.log" 2>&1 || { tail -n 30 "$out/build.log" >&2; exit 1; }
bench="$work/build/clasp_gpu_bench"
log "built"

identity_half() { # every other layer from 2, then the last ones, until half are identities (as the CPU bench's fixture)
    local layers=$1 list=() i
    for ((i = 2; i < layers && ${#list[@]} < layers / 2; i += 2)); do list+=("$i"); done
    for ((i = layers - 1; ${#list[@]} < layers / 2; i--)); do [[ " ${list[*]} " == *" $i "* ]] || list+=("$i"); done
    local IFS=,
    echo "${list[*]}"
}

# name layers embd ff heads kv_heads identity(yes/no)
if [ "$GPU_BENCH_BACKEND" = cuda ]; then
    fixtures=(
        "half-identity-8b 32 4096 14336 32 8 yes"
        "random-1b 16 2048 5632 16 8 no"
        "half-identity-small 16 256 768 8 4 yes"
    )
    gpu_layers=999
    threads=4
else
    fixtures=(
        "half-identity-small 16 256 768 8 4 yes"
        "random-small 8 512 1536 8 4 no"
    )
    gpu_layers=0
    threads=1
fi

run_model() { # name path
    log "benchmarking $1"
    if timeout 240 "$bench" --model "$2" --name "$1" --json "$out/$1.json" --prompt-dir "$prepared/prompts" \
        --gpu-layers "$gpu_layers" --threads "$threads" --prompts 8 --prompt-tokens 256 --max-tokens 64 \
        --gamma "$gamma" --min-confidence "$min_confidence" --skip-ratio "$skip_ratio" --update-interval "$update_interval" \
        2>> "$out/bench.log"; then
        tail -n 1 "$out/bench.log" | tee -a "$out/run.log" >&2
    else
        log "$1 failed (status $?); see bench.log"
    fi
}

for spec in "${fixtures[@]}"; do
    read -r name layers embd ff heads kv identity <<< "$spec"
    ids=""
    [ "$identity" = yes ] && ids="$(identity_half "$layers")"
    log "writing fixture $name"
    python3 "$here/make_fixture.py" "$work/fixtures/$name.gguf" --layers "$layers" --embd "$embd" --ff "$ff" \
        --heads "$heads" --kv-heads "$kv" --vocab 32000 --identity "$ids" >> "$out/run.log"
    run_model "$name" "$work/fixtures/$name.gguf"
    rm -f "$work/fixtures/$name.gguf"
done

models="${GPU_BENCH_MODELS:-}"
if [ -n "$models" ] && [ -d "$models" ]; then
    for model in "$models"/SmolLM2*.gguf; do
        [ -f "$model" ] && run_model "$(basename "$model" .gguf)" "$model"
    done
else
    log "no real models brought (GPU_BENCH_MODELS unset): fixtures only"
fi

# one document: every model's result
python3 - "$out" <<'PY'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
models = [json.loads(p.read_text()) for p in sorted(out.glob("*.json")) if p.name != "gpu-bench.json"]
machine = (out / "machine.txt").read_text()
(out / "gpu-bench.json").write_text(json.dumps({"machine": machine, "models": models}, indent=2) + "\n")
for m in models:
    modes = m["modes"]
    print(f'{m["name"]}: plain {modes["plain"]["tokensPerSecond"]:.1f} tok/s (this build), against it: static {modes["static"]["speedupVsPatchedPlain"]:.2f}x; '
          f'clasp {modes["clasp"]["speedupVsPatchedPlain"]:.2f}x, alpha {modes["clasp"].get("acceptance", 0):.2f}, lossless {modes["clasp"]["lossless"]}')
PY
log "done in $((SECONDS - started)) s"
