"""Fuzz: mutated real .pt2 and .safetensors files never run code, never crash the process and never
raise anything but mobilekit's own errors (one line for the user).

The mutations are byte flips, truncations and splices of real files (hypothesis drives them),
plus, for the .pt2 zip, member-level rewrites that keep the archive valid so the parser is
reached rather than the zip reader."""

import io
import os
import zipfile
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mobilekit._pt2 import read_pt2
from mobilekit.errors import MobileKitError

pytestmark = pytest.mark.filterwarnings("ignore")
# CI: 100 fixed examples each (derandomized, so a run is reproducible); MOBILEKIT_FUZZ_EXAMPLES=N explores afresh.
_N = os.environ.get("MOBILEKIT_FUZZ_EXAMPLES")
FUZZ = settings(max_examples=int(_N or 100), derandomize=not _N, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


class _Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.l = torch.nn.Linear(4, 3)

    def forward(self, x):
        return torch.relu(self.l(x))


@pytest.fixture(scope="module")
def real_files(tmp_path_factory):
    from safetensors.torch import save_file

    d = tmp_path_factory.mktemp("fuzz")
    pt2 = d / "m.pt2"
    torch.export.save(torch.export.export(_Net().eval(), (torch.randn(2, 4),)), str(pt2))
    st_path = d / "w.safetensors"
    save_file(_Net().state_dict(), str(st_path))
    return pt2.read_bytes(), st_path.read_bytes()


# (offset fraction, replacement bytes) edits, a truncation point, or both
edits = st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.binary(min_size=1, max_size=8)), min_size=1, max_size=6)


def _mutate(data: bytes, changes, cut: float | None) -> bytes:
    b = bytearray(data)
    for where, repl in changes:
        i = int(where * len(b))
        b[i:i + len(repl)] = repl
    if cut is not None:
        b = b[: int(cut * len(b))]
    return bytes(b)


def _only_our_errors(fn):
    try:
        fn()
    except MobileKitError as exc:
        assert str(exc).strip() and "\n" not in str(exc).strip(), f"not one line: {exc!r}"


@FUZZ
@given(changes=edits, cut=st.one_of(st.none(), st.floats(0, 1)))
def test_mutated_pt2_bytes(tmp_path, real_files, changes, cut):
    p = tmp_path / "m.pt2"
    p.write_bytes(_mutate(real_files[0], changes, cut))
    _only_our_errors(lambda: read_pt2(p, trust_pickle=False))


@FUZZ
@given(member=st.integers(0, 50), changes=edits, cut=st.one_of(st.none(), st.floats(0, 1)))
def test_mutated_pt2_members(tmp_path, real_files, member, changes, cut):
    """A valid zip whose one member is mutated: reaches the archive's JSON/program parsing."""
    src = zipfile.ZipFile(io.BytesIO(real_files[0]))
    names = src.namelist()
    target = names[member % len(names)]
    p = tmp_path / "m.pt2"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_STORED) as out:
        for n in names:
            data = src.read(n)
            out.writestr(n, _mutate(data, changes, cut) if n == target and data else data)
    _only_our_errors(lambda: read_pt2(p, trust_pickle=False))


@FUZZ
@given(changes=edits, cut=st.one_of(st.none(), st.floats(0, 1)))
def test_mutated_safetensors(tmp_path, real_files, changes, cut):
    from mobilekit import config, source

    p = tmp_path / "w.safetensors"
    p.write_bytes(_mutate(real_files[1], changes, cut))
    cfg = config.from_dict({"name": "fz", "source": "x:y", "weights": str(p),
                            "inputs": [{"name": "x", "shape": [1, 4]}]}, base_dir=tmp_path)
    _only_our_errors(lambda: source._apply_weights(_Net(), cfg))
