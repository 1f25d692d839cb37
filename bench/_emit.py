"""What every bench script does last: print its result as JSON and save it (bench/results/*.json).

The scripts run as `python bench/<name>.py`, so this folder is on sys.path and `from _emit import …`
finds this module.
"""

from __future__ import annotations

import json
from pathlib import Path

# The instruction-set features that decide which int8/fp kernels a CPU runs (see README "Hosts").
ISA_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")


def emit(result: dict, out: str | Path, indent: int = 2) -> dict:
    text = json.dumps(result, indent=indent)
    print(text)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    return result


def cpu_label() -> str:
    """'AMD EPYC 7B13 (avx2)': the CPU model and the ISA features its kernels depend on."""
    from mobilekit.bench.results import host_device

    try:
        flags = next((ln.split(":", 1)[1].split() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                      if ln.startswith("flags")), [])
    except OSError:
        flags = []
    return f"{host_device()['model']} ({', '.join(f for f in ISA_FLAGS if f in flags)})"
