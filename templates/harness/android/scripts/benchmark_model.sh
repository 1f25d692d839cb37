#!/usr/bin/env bash
# Runs TFLite's benchmark_model over adb on every .tflite file of this bundle, once per
# delegate, and saves each output with a `# key: value` header (model file and sha256, device,
# delegate) that `mobilekit bench import` converts to mobilekit.bench/1.
#
#   scripts/benchmark_model.sh --binary path/to/benchmark_model [--serial SERIAL]
#       [--runs 50] [--warmup 5] [--threads 4] [--delegates "xnnpack gpu nnapi"] [--import]
#
# Get benchmark_model for your device's ABI from the LiteRT / TensorFlow Lite releases
# ("android_aarch64_benchmark_model") or build it with Bazel; see ../README.md.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
BUNDLE="$(cd "$HERE/../../.." && pwd)"
OUT="$HERE/../results/benchmark_model"
BINARY="${BENCHMARK_MODEL:-}"
RUNS=50
WARMUP=5
THREADS=4
DELEGATES="xnnpack gpu nnapi"
IMPORT=0
VERSION="${BENCHMARK_MODEL_VERSION:-unknown}"
REMOTE=/data/local/tmp/mobilekit

while [ $# -gt 0 ]; do
    case "$1" in
        --binary) BINARY="$2"; shift 2 ;;
        --serial) export ANDROID_SERIAL="$2"; shift 2 ;;
        --runs) RUNS="$2"; shift 2 ;;
        --warmup) WARMUP="$2"; shift 2 ;;
        --threads) THREADS="$2"; shift 2 ;;
        --delegates) DELEGATES="$2"; shift 2 ;;
        --version) VERSION="$2"; shift 2 ;;
        --import) IMPORT=1; shift ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "error: unknown option $1" >&2; exit 2 ;;
    esac
done

if [ -z "$BINARY" ] || [ ! -f "$BINARY" ]; then
    echo "error: give the benchmark_model binary for the device with --binary (or BENCHMARK_MODEL=...)" >&2
    exit 2
fi
command -v adb >/dev/null || { echo "error: adb is not on PATH (install the Android platform tools)" >&2; exit 2; }
adb get-state >/dev/null 2>&1 || { echo "error: no device connected (adb devices lists none)" >&2; exit 2; }

sha256() {
    if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi
}
prop() { adb shell getprop "$1" | tr -d '\r'; }

MODEL="$(prop ro.product.model)"
MAKER="$(prop ro.product.manufacturer)"
RELEASE="$(prop ro.build.version.release)"
SDK="$(prop ro.build.version.sdk)"
ABI="$(prop ro.product.cpu.abi)"
SOC="$(prop ro.soc.model)"
[ -n "$SOC" ] || SOC="$(prop ro.board.platform)"
CORES="$(adb shell nproc 2>/dev/null | tr -d '\r' || true)"

adb shell mkdir -p "$REMOTE"
adb push "$BINARY" "$REMOTE/benchmark_model" >/dev/null
adb shell chmod 755 "$REMOTE/benchmark_model"
mkdir -p "$OUT"

shopt -s nullglob
models=("$BUNDLE"/tflite/*.tflite)
if [ ${#models[@]} -eq 0 ]; then
    echo "error: $BUNDLE/tflite has no .tflite files (export with the tflite target)" >&2
    exit 2
fi

for model in "${models[@]}"; do
    name="$(basename "$model")"
    sum="$(sha256 "$model")"
    adb push "$model" "$REMOTE/$name" >/dev/null
    for delegate in $DELEGATES; do
        case "$delegate" in
            xnnpack) flags="--use_xnnpack=true --num_threads=$THREADS"; backend=cpu ;;
            none) flags="--use_xnnpack=false --num_threads=$THREADS"; backend=cpu ;;
            gpu) flags="--use_gpu=true"; backend=gpu ;;
            nnapi) flags="--use_nnapi=true"; backend=nnapi ;;
            *) echo "error: unknown delegate $delegate (xnnpack, none, gpu, nnapi)" >&2; exit 2 ;;
        esac
        log="$OUT/${name%.tflite}-$delegate.txt"
        {
            echo "# mobilekit: benchmark_model"
            echo "# created_at: $(date -u +%Y-%m-%dT%H:%M:%S+00:00)"
            echo "# model.file: tflite/$name"
            echo "# model.sha256: $sum"
            echo "# device.platform: android"
            echo "# device.model: $MODEL"
            echo "# device.manufacturer: $MAKER"
            echo "# device.os: Android $RELEASE (API $SDK)"
            echo "# device.arch: $ABI"
            echo "# device.soc: $SOC"
            echo "# device.cores: $CORES"
            echo "# runtime.version: $VERSION"
            echo "# config.backend: $backend"
            echo "# config.delegate: $delegate"
            echo "# config.runs: $RUNS"
        } >"$log"
        echo "benchmark_model $name ($delegate)…"
        # shellcheck disable=SC2086
        adb shell "$REMOTE/benchmark_model" --graph="$REMOTE/$name" --num_runs="$RUNS" --warmup_runs="$WARMUP" \
            --min_secs=0 --warmup_min_secs=0 --report_peak_memory_footprint=true $flags >>"$log" 2>&1 || true
    done
    adb shell rm -f "$REMOTE/$name"
done

echo "saved to $OUT"
if [ "$IMPORT" = 1 ]; then
    mobilekit bench import "$BUNDLE" "$OUT"
else
    echo "import with: mobilekit bench import $BUNDLE $OUT"
fi
