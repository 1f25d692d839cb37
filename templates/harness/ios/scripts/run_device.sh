#!/usr/bin/env bash
# Runs the Core ML and ExecuTorch benchmarks on a connected iPhone/iPad (or the Mac with --mac), saves the log
# and imports the results into the bundle.
#
#   scripts/run_device.sh --device-id UDID --team TEAMID [--runs 50] [--warmup 5]
#       [--units cpuOnly,cpuAndGPU,cpuAndNeuralEngine,all] [--no-import]
#   scripts/run_device.sh --mac [--runs 50]
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
PROJECT="$(cd "$HERE/.." && pwd)"
BUNDLE="$(cd "$PROJECT/../.." && pwd)"
DEVICE=""
TEAM=""
MAC=0
IMPORT=1
export TEST_RUNNER_MOBILEKIT_RUNS=50 TEST_RUNNER_MOBILEKIT_WARMUP=5
while [ $# -gt 0 ]; do
    case "$1" in
        --device-id) DEVICE="$2"; shift 2 ;;
        --team) TEAM="$2"; shift 2 ;;
        --mac) MAC=1; shift ;;
        --runs) export TEST_RUNNER_MOBILEKIT_RUNS="$2" MOBILEKIT_RUNS="$2"; shift 2 ;;
        --warmup) export TEST_RUNNER_MOBILEKIT_WARMUP="$2" MOBILEKIT_WARMUP="$2"; shift 2 ;;
        --units) export TEST_RUNNER_MOBILEKIT_COMPUTE_UNITS="$2" MOBILEKIT_COMPUTE_UNITS="$2"; shift 2 ;;
        --no-import) IMPORT=0; shift ;;
        -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
        *) echo "error: unknown option $1" >&2; exit 2 ;;
    esac
done

"$HERE/prepare.sh"
cd "$PROJECT"
LOG="$PROJECT/results/xcodebuild-$(date +%Y%m%d-%H%M%S).log"
mkdir -p "$PROJECT/results"
if [ "$MAC" = 1 ]; then
    swift test --filter 'CoreMLBenchmarkTests|ExecuTorchBenchmarkTests' 2>&1 | tee "$LOG" || true
else
    [ -n "$DEVICE" ] || { echo "error: give --device-id (xcrun xctrace list devices) or --mac" >&2; exit 2; }
    SIGN=()
    [ -n "$TEAM" ] && SIGN=(DEVELOPMENT_TEAM="$TEAM" -allowProvisioningUpdates)
    xcodebuild test -scheme MobileKitBench-Package -destination "platform=iOS,id=$DEVICE" \
        -only-testing:MobileKitBenchTests ${SIGN[@]+"${SIGN[@]}"} 2>&1 | tee "$LOG" || true
fi
echo "log: $LOG"
if [ "$IMPORT" = 1 ]; then
    mobilekit bench import "$BUNDLE" "$LOG"
fi
