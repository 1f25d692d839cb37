"""A test target whose host check blocks, registered through MOBILEKIT_TARGETS: a real signal can
then be sent to a real export while it verifies (a real runtime verifies too fast to aim at).

With MOBILEKIT_TEST_VERIFY_SENTINEL set, its runner creates that file and sleeps; without it the
artifact is left unverified (a quick, valid previous bundle)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from mobilekit.targets.base import ArtifactRecord, Target, Unverifiable


@dataclass
class NoOptions:
    pass


class SlowCheck(Target):
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


TARGET = SlowCheck()
