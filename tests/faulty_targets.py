"""Targets that crash or hang inside their worker, registered through MOBILEKIT_TARGETS.

Real converters do not crash on demand; these force the paths that handle it.
"""

from __future__ import annotations

import ctypes
import time
from dataclasses import dataclass

from mobilekit.targets.base import Target


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


SEGFAULTS = Segfaults()
HANGS = Hangs()
