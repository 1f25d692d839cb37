"""Put a bundle where a demo app reads it: `mobilekit scaffold android|ios --bundle dist/NAME`.

Copies the manifest, `assets/` (labels, tokenizer, golden vectors) and the platform's artifacts
(TFLite and ExecuTorch for Android, Core ML and ExecuTorch for iOS: each app has a runtime switch)
into the app's bundle folder, after checking the bundle's checksums. Failed artifacts are left
out, and so are ExecuTorch's Core ML delegate programs on Android (Apple-only), each with the
reason. The folder is replaced whole (staged beside it, then moved into place), and only when
it is empty or holds an earlier scaffold of the same bundle: anything else is the user's and is
left alone.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from .bench.harness import delegate_elsewhere
from .bundle import MANIFEST, Staging, inside, load_bundle
from .errors import UserError
from .init import templates_dir

MARKER = ".mobilekit-scaffold.json"


@dataclass(frozen=True)
class Platform:
    targets: tuple[str, ...]  # the artifacts this app runs
    marker_file: str  # a file that proves the folder is the app (relative to the app root)
    bundles_dir: str  # where bundles go (relative to the app root)
    default_app: str


PLATFORMS = {
    "android": Platform(("tflite", "executorch"), "settings.gradle.kts", "app/src/main/assets/bundles", "android_demo"),
    "ios": Platform(("coreml", "executorch"), "MobileKitDemo.xcodeproj/project.pbxproj", "MobileKitDemo/Bundles", "ios_demo"),
}


def not_here(artifact: dict, platform: str) -> str | None:
    """Why the `platform` app cannot run an artifact of one of its targets, else None."""
    if artifact.get("status") == "failed":
        return f"failed ({artifact.get('error', '')})"
    return delegate_elsewhere(artifact, platform)  # the harnesses' rule: one copy


@dataclass
class Scaffolded:
    path: Path
    files: list[str]  # bundle-relative paths copied
    skipped: list[str]  # artifacts of the platform left out (failed ones), with the reason


def scaffold(platform: str, bundle_path: str | Path, app: str | Path | None = None) -> Scaffolded:
    if platform not in PLATFORMS:
        raise UserError(f"unknown platform {platform!r}", hint=f"Choose {' or '.join(PLATFORMS)}.")
    plat = PLATFORMS[platform]
    app_root = Path(app if app is not None else plat.default_app)
    if not (app_root / plat.marker_file).is_file():
        raise UserError(f"{app_root} is not the {platform} demo app (no {plat.marker_file})",
                        hint=f"Pass --app with the path of the {plat.default_app}/ folder.")
    bundle = load_bundle(bundle_path)  # validates the manifest and every checksum
    chosen = [a for a in bundle.artifacts if a["target"] in plat.targets and a.get("path")]
    usable = [a for a in chosen if not not_here(a, platform)]
    skipped = [f"{a['path']}: {not_here(a, platform)}" for a in chosen if not_here(a, platform)]
    if not usable:
        wanted = " or ".join(plat.targets)
        raise UserError(f"{bundle.path} has no usable {wanted} artifact for the {platform} app",
                        hint=f"Export with `--target {plat.targets[0]}` or `--target {plat.targets[1]}` first.")

    dest = app_root / plat.bundles_dir / bundle.name
    _check_replaceable(dest, bundle.name)
    files = [MANIFEST] + _tree(bundle.path, "assets") + [p for a in usable for p in _tree(bundle.path, a["path"])]
    staging = Staging(dest)
    try:
        for rel in files:
            target = staging.path / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(inside(bundle.path, rel), target)
        readme = (templates_dir() / "scaffold" / "README.md").read_text(encoding="utf-8")
        (staging.path / "README.md").write_text(
            readme.format(name=bundle.name, source=bundle.path.resolve(), platform=platform,
                          target=" and ".join(sorted({a["target"] for a in usable}, key=plat.targets.index))), encoding="utf-8")
        marker = {"bundle": bundle.name, "source": str(bundle.path.resolve()), "files": files}
        (staging.path / MARKER).write_text(json.dumps(marker, indent=1) + "\n", encoding="utf-8")
        path = staging.commit()
    except BaseException:
        staging.discard()
        raise
    return Scaffolded(path, files, skipped)


def _check_replaceable(dest: Path, name: str) -> None:
    """Only an empty folder or our own earlier scaffold of the same bundle may be replaced."""
    if not dest.exists():
        return
    if not dest.is_dir():
        raise UserError(f"{dest} exists and is not a folder", hint="Move it away; scaffold writes a folder there.")
    if not any(dest.iterdir()):
        return
    marker = dest / MARKER
    try:
        ours = json.loads(marker.read_text(encoding="utf-8")).get("bundle") == name
    except (OSError, ValueError, AttributeError):
        ours = False
    if not ours:
        raise UserError(f"{dest} holds files mobilekit did not put there",
                        hint="Move them away (scaffold replaces only its own earlier copies of this bundle).")


def _tree(root: Path, rel: str) -> list[str]:
    """`rel` if it is a file, else every file under it (a .mlpackage is a folder)."""
    root = root.resolve()  # `inside` resolves; a relative --bundle must too
    path = inside(root, rel)
    if path.is_file():
        return [rel]
    if not path.is_dir():
        return []
    return sorted(p.relative_to(root).as_posix() for p in path.rglob("*") if p.is_file())
