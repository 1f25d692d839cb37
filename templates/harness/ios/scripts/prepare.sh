#!/usr/bin/env bash
# Copies the bundle's manifest.json, Core ML packages and assets (golden inputs or sentences, the
# tokenizer of a translation bundle) into the test target's
# resources (Tests/MobileKitBenchTests/Resources/bundle). Run it after every export.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
PROJECT="$(cd "$HERE/.." && pwd)"
BUNDLE="$(cd "$PROJECT/../.." && pwd)"
DEST="$PROJECT/Tests/MobileKitBenchTests/Resources/bundle"

[ -f "$BUNDLE/manifest.json" ] || { echo "error: $BUNDLE has no manifest.json (is this harness inside a bundle?)" >&2; exit 2; }
[ -d "$BUNDLE/coreml" ] || { echo "error: $BUNDLE has no coreml/ folder (export with the coreml target)" >&2; exit 2; }
find "$DEST" -mindepth 1 ! -name README.md -exec rm -rf {} + 2>/dev/null || true
mkdir -p "$DEST"
cp "$BUNDLE/manifest.json" "$DEST/"
cp -R "$BUNDLE/coreml" "$DEST/"
cp -R "$BUNDLE/assets" "$DEST/"
echo "copied $(ls "$DEST/coreml" | wc -l | tr -d ' ') Core ML package(s) and the assets into $DEST"
