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

A harness is only written for a bundle it can run (`runnable`): its platform's targets, a task
it knows, the golden data it feeds (`index.json` for classification and generic bundles,
`translation.json` and the manifest's `translation` section for translation bundles, whose
encoder and decoder must make a pair of one variant). Anything else is refused with one line
and exit code 2 before a file is written. Each template may declare what it runs in a
`harness.json` ({"targets": [...], "tasks": [...]}), which overrides the defaults below.
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
CAPABILITIES = "harness.json"
# What each platform's harness runs when its template declares nothing (see CAPABILITIES).
_DEFAULT_RUNS = {
    "android": {"targets": ["tflite", "onnx", "executorch"], "tasks": ["image_classification", "generic", "translation"]},
    "ios": {"targets": ["coreml", "executorch"], "tasks": ["image_classification", "generic", "translation"]},
}


def delegate_elsewhere(artifact: dict, platform: str) -> str | None:
    """Why `platform` cannot run this artifact although its target is one the harness runs, else None.

    ExecuTorch's `coreml` / `coreml-int8` programs hold Core ML delegate blobs: the Android AAR has
    no Core ML backend (the iOS Swift package has: `backend_coreml`)."""
    if platform == "android" and artifact.get("target") == "executorch":
        backend = (artifact.get("details") or {}).get("backend")
        if backend == "CoreMLBackend" or str(artifact.get("variant", "")).startswith("coreml"):
            return "the Core ML delegate runs only on Apple platforms"
    return None


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
    for platform in platforms:  # refuse before anything is written
        problem = runnable(root, manifest, platform, src_root)
        if problem:
            others = [p for p in PLATFORMS if p != platform and not runnable(root, manifest, p, src_root)]
            hint = f"Generate only what runs: --platform {others[0]}." if others else "Re-export the bundle with a target this harness runs."
            raise UserError(f"the {platform} harness cannot run bundle {manifest.get('name', '?')!r}: {problem}", hint=hint)
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


def capabilities(platform: str, src_root: Path | None = None) -> dict[str, list[str]]:
    """The targets and tasks `platform`'s harness runs: its template's harness.json, else the defaults."""
    declared = (src_root or templates_root()) / platform / CAPABILITIES
    runs = dict(_DEFAULT_RUNS[platform])
    if declared.is_file():
        try:
            runs.update({k: list(v) for k, v in json.loads(declared.read_text()).items() if k in ("targets", "tasks")})
        except (ValueError, TypeError, AttributeError) as exc:
            raise InternalError(f"{declared} is not a valid harness capability file ({exc})") from None
    return runs


def runnable(root: Path, manifest: dict, platform: str, src_root: Path | None = None) -> str | None:
    """Why `platform`'s harness cannot run this bundle, or None when it can."""
    runs = capabilities(platform, src_root)
    task = manifest.get("task", "generic")
    if task not in runs["tasks"]:
        return f"it runs {', '.join(runs['tasks'])} bundles, not {task}"
    targets = runs["targets"]
    present = [a for a in manifest.get("artifacts", []) if a.get("target") in targets and a.get("status") != "failed" and a.get("path")]
    usable = [a for a in present if not delegate_elsewhere(a, platform)]
    if not usable:
        elsewhere = [a for a in present if delegate_elsewhere(a, platform)]
        if elsewhere:
            names = ", ".join(f"{a['target']}/{a['variant']}" for a in elsewhere)
            return f"its only artifacts of {' or '.join(targets)} ({names}) cannot run there: {delegate_elsewhere(elsewhere[0], platform)}"
        return f"it has no {' or '.join(targets)} artifact that did not fail at export"
    rel = str(manifest.get("golden") or "assets/golden/").rstrip("/")
    golden = root / rel
    if task == "translation":
        if not isinstance(manifest.get("translation"), dict):
            return "its manifest has no `translation` section"
        pairs = {(a["target"], a.get("variant")) for a in usable if a.get("graph") == "encoder"} & {
            (a["target"], a.get("variant")) for a in usable if a.get("graph") == "decoder"}
        if not pairs:
            return f"it has no {' or '.join(targets)} encoder and decoder of one variant (a verified pair)"
        if not (golden / "translation.json").is_file():
            return f"its golden sentences ({rel}/translation.json) are missing"
    elif not (golden / "index.json").is_file():
        return f"its golden inputs ({rel}/index.json) are missing"
    return None


def _mkdir(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


def _artifacts(manifest: dict, platform: str) -> list[dict]:
    targets = capabilities(platform)["targets"]
    return [a for a in manifest.get("artifacts", []) if a.get("target") in targets]


def _context(manifest: dict, platform: str) -> dict[str, str]:
    rows = []
    for a in _artifacts(manifest, platform):
        if a.get("status") == "failed":
            rows.append(f"- `{a['target']}/{a['variant']}`: failed at export, not benchmarked")
        elif delegate_elsewhere(a, platform):
            rows.append(f"- `{a['path']}` ({a['target']}/{a['variant']}): {delegate_elsewhere(a, platform)}, not benchmarked")
        else:
            rows.append(f"- `{a['path']}` ({a['target']}/{a['variant']}, {a.get('precision', '?')}, sha256 `{a['sha256'][:12]}…`)")
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
            if here == src and name == CAPABILITIES:
                continue  # what the template runs, read by `runnable`; not part of the project
            path, target = here / name, out / name
            if path.suffix in _RENDERED:
                text = path.read_text(encoding="utf-8")
                for key, value in context.items():
                    text = text.replace("{{" + key + "}}", value)
                target.write_text(text, encoding="utf-8")
                shutil.copymode(path, target)
            else:
                shutil.copy2(path, target)
