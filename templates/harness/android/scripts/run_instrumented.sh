#!/usr/bin/env bash
# Builds the instrumented benchmark, runs it on the connected device with adb, pulls the
# mobilekit.bench/1 results and imports them into the bundle.
#
#   scripts/run_instrumented.sh [--serial SERIAL] [--runs 50] [--warmup 5] [--threads 4]
#       [--delegates xnnpack,gpu,nnapi,ort-cpu,ort-nnapi,et-xnnpack] [--only tflite/int8,onnx] [--no-import]
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
PROJECT="$(cd "$HERE/.." && pwd)"
BUNDLE="$(cd "$PROJECT/../.." && pwd)"
PKG=dev.mobilekit.bench.test
RUNNER=androidx.test.runner.AndroidJUnitRunner
REMOTE="/sdcard/Android/data/$PKG/files/mobilekit-bench"
ARGS=()
IMPORT=1

while [ $# -gt 0 ]; do
    case "$1" in
        --serial) export ANDROID_SERIAL="$2"; shift 2 ;;
        --runs|--warmup|--threads|--delegates|--only) ARGS+=(-e "${1#--}" "$2"); shift 2 ;;
        --no-import) IMPORT=0; shift ;;
        -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
        *) echo "error: unknown option $1" >&2; exit 2 ;;
    esac
done

command -v adb >/dev/null || { echo "error: adb is not on PATH (install the Android platform tools)" >&2; exit 2; }
cd "$PROJECT"
if [ -x ./gradlew ]; then GRADLE=./gradlew; else GRADLE=gradle; fi
"$GRADLE" --quiet :benchmark:assembleDebugAndroidTest
APK="$(ls benchmark/build/outputs/apk/androidTest/debug/*.apk | head -n 1)"

adb install -r -t "$APK" >/dev/null
adb shell rm -rf "$REMOTE"
adb shell am instrument -w ${ARGS[@]+"${ARGS[@]}"} "$PKG/$RUNNER" | tee "$PROJECT/results-instrument.log"
if grep -q "FAILURES!!!\|INSTRUMENTATION_FAILED\|Process crashed" "$PROJECT/results-instrument.log"; then
    echo "warning: the instrumented test reported failures (see results-instrument.log); pulling what it wrote" >&2
fi
mkdir -p "$PROJECT/results"
rm -rf "$PROJECT/results/mobilekit-bench"
adb pull "$REMOTE" "$PROJECT/results/" >/dev/null
echo "pulled $(ls "$PROJECT/results/mobilekit-bench" | wc -l | tr -d ' ') result(s) to $PROJECT/results/mobilekit-bench"
if [ "$IMPORT" = 1 ]; then
    mobilekit bench import "$BUNDLE" "$PROJECT/results/mobilekit-bench"
fi
