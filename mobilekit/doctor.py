"""`mobilekit doctor`: installed versions against the declared ranges, and what this host can do.

Reads package metadata only (no heavy imports), so it is quick and works when a package is
broken. The ranges are mobilekit's own installed requirements (pyproject.toml as built into the
wheel or editable install); the tested versions are the ci.txt pins shipped as ci_pins.txt.
"""

from __future__ import annotations

import json
import platform
import sys
from dataclasses import dataclass
from pathlib import Path

import click

from ._cli_support import _handle_errors

# What each distribution is for, in the report; anything else is named by its extra.
NEEDED_FOR = {
    "torch": "capture (all targets)",
    "onnx": "onnx", "onnxscript": "onnx", "onnxruntime": "verify onnx",
    "tensorflow": "tflite via onnx2tf", "onnx2tf": "tflite via onnx2tf", "onnxsim": "tflite via onnx2tf",
    "litert-torch": "tflite via litert-torch", "ai-edge-litert": "verify tflite",
    "coremltools": "coreml", "torch-pruning": "channel pruning", "torchao": "quantization",
    "executorch": "executorch", "transformers": "Hugging Face models", "ray": "sweep on ray",
    "optuna": "sweep sampler",
}

TESTED, UNTESTED, OUTSIDE, MISSING = "tested", "inside the declared range, untested", "outside", "not installed"


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
    status: str = MISSING
    tested: str | None = None
    expect: str = ""


def _version(dist: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def declared() -> dict[str, tuple[str, str]]:
    """{distribution: (specifier, extra or "core")} from mobilekit's installed requirements."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    from .errors import UserError

    try:
        reqs = metadata.requires("mobilekit") or []
    except metadata.PackageNotFoundError:
        raise UserError("mobilekit has no package metadata here, so doctor cannot read its declared ranges",
                        hint="Install it: pip install mobilekit (or pip install -e . in a checkout).") from None
    out: dict[str, tuple[str, str]] = {}
    for text in reqs:
        req = Requirement(text)
        name = canonicalize_name(req.name)
        if name == "mobilekit":  # the `all` extra names the others
            continue
        extra = "core"
        if req.marker is not None and "extra" in str(req.marker):
            extra = str(req.marker).split("extra ==")[-1].strip().strip("'\"")
        # A distribution in two extras (torchao, tokenizers): both ranges hold, so intersect them.
        parts = [s for s in out.get(name, ("", ""))[0].split(",") if s] + [str(s) for s in req.specifier]
        spec = ",".join(sorted(set(parts), key=lambda s: (not s.startswith(">"), s)))  # lower end first
        out[name] = (spec, out[name][1] if name in out else extra)
    return out


def tested_pins() -> dict[str, str]:
    """{distribution: version} for the exact pins of requirements/ci.txt (shipped as ci_pins.txt)."""
    from importlib import resources

    from packaging.utils import canonicalize_name

    try:
        text = resources.files("mobilekit").joinpath("ci_pins.txt").read_text()
    except (FileNotFoundError, OSError):
        return {}
    pins = {}
    for line in text.splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[canonicalize_name(name.strip())] = version.strip()
    return pins


def classify(name: str, version: str | None, spec: str, pin: str | None) -> tuple[str, str]:
    """(status, what to expect) for one installed version."""
    from packaging.specifiers import SpecifierSet
    from packaging.version import InvalidVersion, Version

    if version is None:
        return MISSING, ""
    try:
        v = Version(version)
    except InvalidVersion:
        return OUTSIDE, f"expect anything: {version!r} is not a version pip understands"
    if pin is not None and v.public == Version(pin).public:  # 2.13.0+cpu is the tested 2.13.0
        return TESTED, ""
    if SpecifierSet(spec).contains(v, prereleases=True):
        return UNTESTED, ""
    fix = f"pip install '{name}=={pin}'" if pin else f"pip install '{name}{spec}'"
    return OUTSIDE, f"expect conversion or verification failures this release never saw; tested with {pin or spec} ({fix})"


def packages() -> list[PackageStatus]:
    pins = tested_pins()
    out = []
    for name, (spec, extra) in declared().items():
        v = _version(name)
        pin = pins.get(name)
        status, expect = classify(name, v, spec, pin)
        needed = NEEDED_FOR.get(name, "core" if extra == "core" else f"extra [{extra}]")
        out.append(PackageStatus(name, v, spec, status in (TESTED, UNTESTED), needed, status, pin, expect))
    return out


def capabilities(pkgs: list[PackageStatus]) -> dict[str, dict]:
    versions = {p.name: p.version for p in pkgs}
    caps = {}
    for target, (convert, verify) in TARGET_NEEDS.items():
        missing = [n for n in convert if versions.get(n) is None]
        can_convert = not missing
        if target == "tflite" and missing and versions.get("litert-torch") and versions.get("torch"):
            can_convert, missing = True, []  # litert-torch alone can convert
        if target == "coreml":
            can_verify = can_convert  # the runtime on macOS, the reference interpreter elsewhere
            why = "" if sys.platform == "darwin" else "no Core ML runtime on this host: mobilekit's reference interpreter runs the packages"
        else:
            vmissing = [n for n in verify if versions.get(n) is None]
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
    marks = {TESTED: "ok ", UNTESTED: "?  ", OUTSIDE: "!! ", MISSING: "-- "}
    for p in data["packages"]:
        have = p["version"] or "not installed"
        status = p["status"] if p["status"] != OUTSIDE else f"outside {p['supported']}: {p['expect']}"
        out.append(f"  {marks[p['status']]}{p['name']:17s} {have:14s} {status}  [{p['needed_for']}]")
    out.append("")
    for target, c in data["targets"].items():
        conv = "can convert" if c["convert"] else f"cannot convert (install {', '.join(c['missing'])})"
        ver = "can verify" if c["verify"] else f"cannot verify ({c['verify_note'] or 'cannot convert'})"
        out.append(f"  {target:7s} {conv}; {ver}")
    return out


def outside(data: dict) -> list[str]:
    return [p["name"] for p in data["packages"] if p["status"] == OUTSIDE]


def compat_row(venv_dir: Path, data: dict) -> str:
    """One README table row from what `make compat` left in venv_dir (install.json, *.rc, fast.s)."""
    def read(name: str, default: str = "?") -> str:
        f = venv_dir / name
        return f.read_text().strip() if f.exists() else default

    install = json.loads(read("install.json", "{}"))
    v = {p["name"]: p["version"] or "-" for p in data["packages"]}
    fast = "passed" if read("fast.rc") == "0" else f"failed (rc {read('fast.rc')})"
    digits = "passed" if read("digits.rc") == "0" else f"failed (rc {read('digits.rc')})"
    return (f"| {v.get('torch', '-')} | onnx {v.get('onnx', '-')}, onnxruntime {v.get('onnxruntime', '-')}, "
            f"tensorflow {v.get('tensorflow', '-')}, litert-torch {v.get('litert-torch', '-')}, "
            f"coremltools {v.get('coremltools', '-')}, executorch {v.get('executorch', '-')} "
            f"| fast suite {fast} ({read('fast.s')} s); digits export {digits} "
            f"| {install.get('venv_mb', '?')} MB, install {install.get('install_s', '?')} s |")


COMPAT_BEGIN, COMPAT_END = "<!-- compat-table -->", "<!-- /compat-table -->"


def write_compat_row(readme: Path, row: str) -> None:
    """Replace the row for the same torch in the README's table (between the markers), or append."""
    from .errors import UserError

    text = readme.read_text()
    if COMPAT_BEGIN not in text or COMPAT_END not in text:
        raise UserError(f"{readme} has no compatibility table markers",
                        hint=f"Put {COMPAT_BEGIN} and {COMPAT_END} around the table.")
    head, rest = text.split(COMPAT_BEGIN, 1)
    table, tail = rest.split(COMPAT_END, 1)
    torch = row.split("|")[1].strip()
    kept = [ln for ln in table.strip("\n").splitlines() if ln.split("|")[1:2] != [f" {torch} "]]
    readme.write_text(head + COMPAT_BEGIN + "\n" + "\n".join(kept + [row]) + "\n" + COMPAT_END + tail)


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--strict", is_flag=True, help="Exit 1 when an installed package is outside the declared range.")
@click.option("--compat-row", "compat", nargs=2, type=click.Path(path_type=Path), default=None,
              metavar="VENV README", help="(make compat) write this venv's row into README's table.")
@_handle_errors
def command(as_json: bool, strict: bool, compat) -> None:
    """Installed converter/runtime versions against the declared ranges; what this host can do."""
    data = report()
    if compat:
        row = compat_row(compat[0], data)
        write_compat_row(compat[1], row)
        click.echo(row)
        return
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        for line in lines(data):
            click.echo(line)
    bad = outside(data)
    if strict and bad:
        click.echo(f"outside the declared ranges: {', '.join(bad)} (--strict)", err=True)
        sys.exit(1)


if __name__ == "__main__":  # python -m mobilekit.doctor: make compat, and --strict until cli.py uses `command`
    command()
