"""Device benchmark harnesses, generated into `<bundle>/harness/android/` and `harness/ios/`.

The harness sources are static templates (`templates/harness/<platform>/`; Android's `core/` is
the shared Kotlin core, `mobile/kotlin`): they read the
bundle's `manifest.json` at run time, so nothing model-specific is baked into code and the
Kotlin and Swift files can be compiled and linted as they are. Rendering copies the template
tree, fills the README's `{{name}}`, `{{version}}` and `{{artifacts}}`, and writes
`mobilekit-harness.json` (what it was generated from: the bundle's artifacts and checksums).

The harnesses live inside the bundle and find it two folders up; models are copied into the
test app at build time (Android: a Gradle Sync task; iOS: scripts/prepare.sh), not duplicated in
the bundle.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from importlib import resources
from pathlib import Path

from ..errors import InternalError, UserError

PLATFORMS = ("android", "ios")
HARNESS_DIR = "harness"
_RENDERED = (".md",)
_SKIP = {".gradle", "build", ".build", ".swiftpm", "results", "node_modules", "__pycache__"}
# Which targets each platform's harness benchmarks.
_TARGETS = {"android": ("tflite", "onnx"), "ios": ("coreml",)}


def templates_root() -> Path:
    """The `templates/harness` folder: beside the package in a checkout, or inside it when installed."""
    here = Path(__file__).resolve()
    candidates = [here.parents[2] / "templates" / "harness"]
    try:
        candidates.append(Path(str(resources.files("mobilekit").joinpath("templates", "harness"))))
    except (ModuleNotFoundError, TypeError):  # pragma: no cover
        pass
    for c in candidates:
        if (c / "android").is_dir() and (c / "ios").is_dir():
            return c
    raise InternalError("the harness templates are missing (templates/harness/android and ios)")


def generate(bundle_dir: str | Path, manifest: dict | None = None, platforms: tuple[str, ...] = PLATFORMS) -> list[Path]:
    """Write the harnesses for `platforms` into `<bundle_dir>/harness/`; returns their folders.

    `manifest` defaults to the bundle's manifest.json (pass it to generate into a staging folder
    before the manifest is written). An existing harness folder is replaced whole; results a
    previous run pulled into it (`results/`) are kept.
    """
    root = Path(bundle_dir)
    if manifest is None:
        from ..bundle import load_bundle

        manifest = load_bundle(root, check_files=False).manifest
    unknown = [p for p in platforms if p not in PLATFORMS]
    if unknown:
        raise UserError(f"unknown harness platform {unknown[0]!r}", hint=f"Choose from: {', '.join(PLATFORMS)}.")
    src_root = templates_root()
    out = []
    for platform in platforms:
        dest = root / HARNESS_DIR / platform
        staging = Path(tempfile.mkdtemp(prefix=f".{platform}-", dir=_mkdir(root / HARNESS_DIR)))
        try:
            staging.chmod(0o755)
            _copy_tree(src_root / platform, staging, _context(manifest, platform))
            (staging / "mobilekit-harness.json").write_text(json.dumps(_record(manifest, platform), indent=2) + "\n")
            if (dest / "results").is_dir():
                shutil.move(str(dest / "results"), staging / "results")
            if dest.exists():
                shutil.rmtree(dest)
            os.replace(staging, dest)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        out.append(dest)
    return out


def _mkdir(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


def _artifacts(manifest: dict, platform: str) -> list[dict]:
    return [a for a in manifest.get("artifacts", []) if a.get("target") in _TARGETS[platform]]


def _context(manifest: dict, platform: str) -> dict[str, str]:
    rows = []
    for a in _artifacts(manifest, platform):
        if a.get("status") == "failed":
            rows.append(f"- `{a['target']}/{a['variant']}`: failed at export, not benchmarked")
        else:
            rows.append(f"- `{a['path']}` ({a['target']}/{a['variant']}, {a.get('precision', '?')}, sha256 `{a['sha256'][:12]}…`)")
    if not rows:
        targets = " or ".join(_TARGETS[platform])
        rows.append(f"- (none yet: this bundle has no {targets} artifact; re-export with that target and regenerate)")
    return {"name": manifest.get("name", "?"), "version": manifest.get("version", ""), "artifacts": "\n".join(rows)}


def _record(manifest: dict, platform: str) -> dict:
    from .. import __version__

    return {
        "generated_by": f"mobilekit {__version__}",
        "platform": platform,
        "bundle": manifest.get("name"),
        "bundle_version": manifest.get("version"),
        "artifacts": [{k: a.get(k) for k in ("target", "variant", "path", "sha256", "status")}
                      for a in _artifacts(manifest, platform)],
    }


def _copy_tree(src: Path, dest: Path, context: dict[str, str]) -> None:
    # followlinks: the Android template's core/ links to the shared Kotlin core (mobile/kotlin),
    # which the rendered harness gets as real files so it stays a self-contained project.
    for folder, dirs, names in os.walk(src, followlinks=True):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP)
        here = Path(folder)
        out = dest / here.relative_to(src)
        out.mkdir(parents=True, exist_ok=True)
        for name in sorted(names):
            path, target = here / name, out / name
            if path.suffix in _RENDERED:
                text = path.read_text(encoding="utf-8")
                for key, value in context.items():
                    text = text.replace("{{" + key + "}}", value)
                target.write_text(text, encoding="utf-8")
                shutil.copymode(path, target)
            else:
                shutil.copy2(path, target)
