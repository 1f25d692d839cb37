"""`mobilekit doctor`: installed versions against the supported ranges, and what this host can do.

Reads package metadata only (no heavy imports), so it is quick and works when a package is
broken.
"""

from __future__ import annotations

import platform
import sys
from dataclasses import dataclass

# (distribution, supported range as (min inclusive, max exclusive), what needs it)
SUPPORTED = [
    ("torch", ("2.13.0", "2.15"), "capture (all targets)"),
    ("onnx", ("1.23", "1.24"), "onnx"),
    ("onnxscript", ("0.7", "0.8"), "onnx"),
    ("onnxruntime", ("1.32", "1.33"), "verify onnx"),
    ("tensorflow", ("2.21", "2.22"), "tflite via onnx2tf"),
    ("onnx2tf", ("1.28.8", "1.29"), "tflite via onnx2tf"),
    ("onnxsim", ("0.8", "0.9"), "tflite via onnx2tf"),
    ("litert-torch", ("0.10", "0.11"), "tflite via litert-torch"),
    ("ai-edge-litert", ("2.3", "2.4"), "verify tflite"),
    ("coremltools", ("9.0", "9.1"), "coreml"),
    ("torch-pruning", ("1.6", "1.7"), "channel pruning"),
]

TARGET_NEEDS = {
    "onnx": (["torch", "onnx", "onnxscript"], ["onnxruntime"]),
    "tflite": (["torch", "onnx", "tensorflow", "onnx2tf", "onnxsim"], ["ai-edge-litert"]),
    "coreml": (["torch", "coremltools"], []),
}


@dataclass
class PackageStatus:
    name: str
    version: str | None
    supported: str
    ok: bool
    needed_for: str


def _parse(v: str) -> tuple:
    parts = []
    for p in v.split("+")[0].split("."):
        digits = "".join(ch for ch in p if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def _version(dist: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def packages() -> list[PackageStatus]:
    out = []
    for name, (lo, hi), needed in SUPPORTED:
        v = _version(name)
        ok = v is not None and _parse(lo) <= _parse(v) < _parse(hi)
        out.append(PackageStatus(name, v, f">={lo},<{hi}", ok, needed))
    return out


def capabilities(pkgs: list[PackageStatus]) -> dict[str, dict]:
    by_name = {p.name: p for p in pkgs}
    caps = {}
    for target, (convert, verify) in TARGET_NEEDS.items():
        missing = [n for n in convert if by_name[n].version is None]
        can_convert = not missing
        if target == "tflite" and missing and by_name["litert-torch"].version and by_name["torch"].version:
            can_convert, missing = True, []  # litert-torch alone can convert
        if target == "coreml":
            can_verify = can_convert  # the runtime on macOS, the reference interpreter elsewhere
            why = "" if sys.platform == "darwin" else "no Core ML runtime on this host: mobilekit's reference interpreter runs the packages"
        else:
            vmissing = [n for n in verify if by_name[n].version is None]
            can_verify = can_convert and not vmissing
            why = f"missing {', '.join(vmissing)}" if vmissing else ""
        caps[target] = {"convert": can_convert, "verify": can_verify,
                        "missing": missing, "verify_note": why}
    return caps


def report() -> dict:
    pkgs = packages()
    return {
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
        "packages": [vars(p) for p in pkgs],
        "targets": capabilities(pkgs),
    }


def lines(data: dict) -> list[str]:
    out = [f"python {data['python']} on {data['platform']}", ""]
    for p in data["packages"]:
        mark = "ok " if p["ok"] else ("-- " if p["version"] is None else "!! ")
        have = p["version"] or "not installed"
        out.append(f"  {mark}{p['name']:15s} {have:14s} supported {p['supported']:18s} for {p['needed_for']}")
    out.append("")
    for target, c in data["targets"].items():
        conv = "can convert" if c["convert"] else f"cannot convert (install {', '.join(c['missing'])})"
        ver = "can verify" if c["verify"] else f"cannot verify ({c['verify_note'] or 'cannot convert'})"
        out.append(f"  {target:7s} {conv}; {ver}")
    return out
