"""Targets that crash, hang or block inside their worker, registered through MOBILEKIT_TARGETS.

Real converters do not crash on demand, and a real runtime verifies too fast to aim a signal at;
these force the paths that handle it.
"""

from __future__ import annotations

import ctypes
import os
import time
from dataclasses import dataclass
from pathlib import Path

from mobilekit.targets.base import ArtifactRecord, Target, Unverifiable


@dataclass
class NoOptions:
    pass


class Segfaults(Target):
    name = "segfaults"
    Options = NoOptions

    def convert(self, job):
        print("about to crash", flush=True)
        ctypes.string_at(0)  # SIGSEGV in native code, as a converter's C++ would


class Hangs(Target):
    name = "hangs"
    Options = NoOptions

    def convert(self, job):
        print("hanging", flush=True)
        time.sleep(3600)


class SlowCheck(Target):
    """Converts at once; with MOBILEKIT_TEST_VERIFY_SENTINEL set, its host check creates that file
    and sleeps (a real signal can then reach a real export while it verifies); without it the
    artifact is left unverified (a quick, valid previous bundle)."""

    name = "slowcheck"
    Options = NoOptions

    def convert(self, job):
        out = Path(job.bundle_dir) / "slowcheck"
        out.mkdir(parents=True, exist_ok=True)
        (out / "model.bin").write_bytes(job.spec["name"].encode())
        return [ArtifactRecord(target="slowcheck", variant="fp32", path="slowcheck/model.bin", precision="fp32",
                               layout="NCHW", made_by={"converter": "test"})]

    def runner(self, record, bundle_dir):
        sentinel = os.environ.get("MOBILEKIT_TEST_VERIFY_SENTINEL")
        if not sentinel:
            raise Unverifiable("test target: no runtime")

        def run(feeds):
            Path(sentinel).touch()
            time.sleep(120)

        return run


SEGFAULTS = Segfaults()
HANGS = Hangs()
SLOWCHECK = SlowCheck()
