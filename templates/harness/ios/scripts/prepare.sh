#!/usr/bin/env bash
# Copies the bundle's manifest.json, Core ML packages, ExecuTorch programs (.pte) and assets (golden inputs or sentences, the
# tokenizer of a translation bundle) into the test target's
# resources (Tests/MobileKitBenchTests/Resources/bundle). Run it after every export.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
PROJECT="$(cd "$HERE/.." && pwd)"
BUNDLE="$(cd "$PROJECT/../.." && pwd)"
DEST="$PROJECT/Tests/MobileKitBenchTests/Resources/bundle"

[ -f "$BUNDLE/manifest.json" ] || { echo "error: $BUNDLE has no manifest.json (is this harness inside a bundle?)" >&2; exit 2; }
[ -d "$BUNDLE/coreml" ] || [ -d "$BUNDLE/executorch" ] || {
    echo "error: $BUNDLE has no coreml/ or executorch/ folder (export with the coreml or executorch target)" >&2; exit 2; }
find "$DEST" -mindepth 1 ! -name README.md -exec rm -rf {} + 2>/dev/null || true
mkdir -p "$DEST"
cp "$BUNDLE/manifest.json" "$DEST/"
for target in coreml executorch; do
    if [ -d "$BUNDLE/$target" ]; then cp -R "$BUNDLE/$target" "$DEST/"; fi
done
cp -R "$BUNDLE/assets" "$DEST/"
count() { if [ -d "$DEST/$1" ]; then ls "$DEST/$1" | wc -l | tr -d ' '; else echo 0; fi; }
echo "copied $(count coreml) Core ML package(s), $(count executorch) ExecuTorch program(s) and the assets into $DEST"
