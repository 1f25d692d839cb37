"""A `.pt2` never runs code from the file unless --trust-pickle: one payload per entry kind torch
would unpickle or evaluate. Where torch's own loader runs the payload, the test shows that too,
so the payload is known to be live."""

import json
import re
import pickle
import zipfile
from pathlib import Path

import pytest
import torch

from mobilekit._pt2 import read_pt2
from mobilekit.errors import SourceError, UserError


class _Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.l = torch.nn.Linear(4, 3)

    def forward(self, x):
        return torch.relu(self.l(x)) + torch.tensor([1.0, 2.0, 3.0])


class _Touch:
    """Unpickling this creates the marker file: proof that code from the file ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture(scope="module")
def real_pt2(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("pt2") / "m.pt2"
    ep = torch.export.export(_Net().eval(), (torch.randn(2, 4),), dynamic_shapes=({0: torch.export.Dim("b")},))
    torch.export.save(ep, str(p))
    return p


def rewrite(src: Path, dst: Path, edit) -> Path:
    """Copy a real archive, letting `edit(records)` change/add/remove records (name -> bytes)."""
    with zipfile.ZipFile(src) as z:
        root = z.namelist()[0].split("/", 1)[0]
        records = {n.split("/", 1)[1]: z.read(n) for n in z.namelist()}
    edit(records)
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as z:
        for name, data in records.items():
            z.writestr(f"{root}/{name}", data)
    return dst


def _torch_pickle(obj) -> bytes:
    import io

    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def _config(records, kind):
    return json.loads(records[f"data/{kind}/model_{kind}_config.json"])


def _set_config(records, kind, cfg):
    records[f"data/{kind}/model_{kind}_config.json"] = json.dumps(cfg).encode()


def _sample_inputs(m):
    return lambda r: r.update({"data/sample_inputs/model.pt": _torch_pickle(_Touch(m))})


def _weight_use_pickle(m):
    def edit(r):
        cfg = _config(r, "weights")
        cfg["config"]["l.weight"]["use_pickle"] = True
        _set_config(r, "weights", cfg)
        r["data/weights/weight_0"] = _torch_pickle(_Touch(m))
    return edit


def _constant_use_pickle(m):
    def edit(r):
        cfg = _config(r, "constants")
        (meta,) = cfg["config"].values()
        meta["use_pickle"] = True
        _set_config(r, "constants", cfg)
        r["data/constants/" + meta["path_name"]] = _torch_pickle(_Touch(m))
    return edit


def _whole_floats(data: bytes) -> bytes:
    """Padded to whole float32s: torch sizes every constant record as tensor storage before it
    unpickles an opaque object, and refuses a length that is not (the marker path's length made
    this test pass or fail by chance). pickle stops at its STOP opcode, so the padding is inert."""
    return data + b"\0" * (-len(data) % 4)


def _constant_obj(prefix, payload):
    def make(m):
        def edit(r):
            cfg = _config(r, "constants")
            (meta,) = cfg["config"].values()
            meta["path_name"] = f"{prefix}0"
            _set_config(r, "constants", cfg)
            r[f"data/constants/{prefix}0"] = payload(m)
        return edit
    return make


def _legacy(kind):
    def make(m):
        def edit(r):
            del r[f"data/{kind}/model_{kind}_config.json"]
            r[f"data/{kind}/model.pt"] = _torch_pickle(_Touch(m))
        return edit
    return make


def _expr(m):
    def edit(r):
        text = r["models/model.json"].decode()
        sym = "Symbol('s77', positive=True, integer=True)"
        assert sym in text  # the real archive has this shape symbol
        r["models/model.json"] = text.replace(sym, f"open({str(m)!r}, 'w') and {sym}".replace("'", "\\u0027")).encode()
    return edit


def _guards(m):
    def edit(r):
        prog = json.loads(r["models/model.json"])
        prog["guards_code"] = [f"open({str(m)!r}, 'w') is not None"]
        r["models/model.json"] = json.dumps(prog).encode()
    return edit


def _target(m):
    def edit(r):
        prog = json.loads(r["models/model.json"])
        prog["graph_module"]["graph"]["nodes"][0]["target"] = "torch.os.system"
        r["models/model.json"] = json.dumps(prog).encode()
    return edit


PAYLOADS = {
    # kind: (make edit, words the refusal names, torch.export.load runs it?)
    "sample_inputs": (_sample_inputs, "data/sample_inputs/model.pt", True),
    "weight_use_pickle": (_weight_use_pickle, "data/weights/weight_0 (l.weight, use_pickle)", True),
    "constant_use_pickle": (_constant_use_pickle, "use_pickle", True),
    "opaque_obj": (_constant_obj("opaque_obj_", lambda m: _whole_floats(pickle.dumps(_Touch(m)))), "opaque_obj_0", True),
    "custom_obj": (_constant_obj("custom_obj_", lambda m: pickle.dumps(_Touch(m))), "custom_obj_0", False),
    "legacy_weights": (_legacy("weights"), "data/weights/model.pt", True),
    "legacy_constants": (_legacy("constants"), "data/constants/model.pt", True),
    "shape_expression": (_expr, "shape expression", True),
    "guards_code": (_guards, "guards_code", False),
    "node_target": (_target, "torch.os.system", False),
}


@pytest.mark.parametrize("kind", sorted(PAYLOADS))
def test_payload_is_refused_and_never_runs(real_pt2, tmp_path, kind):
    make, words, _ = PAYLOADS[kind]
    marker = tmp_path / "pwned"
    bad = rewrite(real_pt2, tmp_path / "bad.pt2", make(marker))
    with pytest.raises(UserError) as err:
        read_pt2(bad, trust_pickle=False)
    assert words in err.value.one_line() and "--trust-pickle" in err.value.one_line()
    assert not marker.exists()


@pytest.mark.parametrize("kind", sorted(k for k, v in PAYLOADS.items() if v[2]))
def test_the_payload_is_live_in_torchs_own_loader(real_pt2, tmp_path, kind):
    marker = tmp_path / "pwned"
    bad = rewrite(real_pt2, tmp_path / "bad.pt2", PAYLOADS[kind][0](marker))
    try:
        torch.export.load(str(bad))
    except Exception:
        pass  # a payload returns a file object where a tensor belongs; it has run by then
    assert marker.exists()


def test_guards_code_payload_is_live_in_ep_module(real_pt2, tmp_path):
    marker = tmp_path / "pwned"
    bad = rewrite(real_pt2, tmp_path / "bad.pt2", _guards(marker))
    torch.export.load(str(bad)).module()(torch.randn(2, 4))
    assert marker.exists()


def test_legacy_format_is_refused(real_pt2, tmp_path):
    marker = tmp_path / "pwned"
    bad = tmp_path / "old.pt2"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("version", "8.0")
        z.writestr("serialized_exported_program.json", "{}")
        z.writestr("serialized_state_dict.pt", _torch_pickle(_Touch(marker)))
    with pytest.raises(UserError, match="pre-2.8 torch.export format"):
        read_pt2(bad, trust_pickle=False)
    assert not marker.exists()


def test_clean_archive_loads_and_matches_torch(real_pt2):
    ours = read_pt2(real_pt2, trust_pickle=False)
    theirs = torch.export.load(str(real_pt2))
    x = torch.randn(5, 4)
    assert torch.equal(ours.module()(x), theirs.module()(x))
    assert ours.example_inputs is not None


def test_trusted_payload_does_run(real_pt2, tmp_path):
    marker = tmp_path / "pwned"
    bad = rewrite(real_pt2, tmp_path / "bad.pt2", _sample_inputs(marker))
    with pytest.raises(SourceError, match="not a readable torch.export file"):
        read_pt2(bad, trust_pickle=True)  # the payload returned a file object, not inputs
    assert marker.exists()  # but it ran: the user opted in


@pytest.mark.parametrize("content, words", [
    (b"", "is empty (0 bytes)"),
    (b"\x00" * 64, "not a zip file"),
    (b"PK\x03\x04garbage", "not a zip file"),
])
def test_junk_is_one_clean_line(tmp_path, content, words, capfd):
    p = tmp_path / "junk.pt2"
    p.write_bytes(content)
    with pytest.raises(SourceError, match=re.escape(words)):
        read_pt2(p, trust_pickle=False)
    assert capfd.readouterr().err == ""  # no torch warning


def test_zip_that_is_not_torch_export(tmp_path):
    p = tmp_path / "other.pt2"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("a/readme.txt", "hello")
    with pytest.raises(SourceError, match="no archive_format entry"):
        read_pt2(p, trust_pickle=False)


def test_pickled_data_with_another_model_name_is_refused(real_pt2, tmp_path):
    marker = tmp_path / "pwned"

    def edit(r):
        r["models/other.json"] = r["models/model.json"]
        r["data/constants/other_constants_config.json"] = r["data/constants/model_constants_config.json"]
        r["data/weights/other.pt"] = _torch_pickle(_Touch(marker))

    bad = rewrite(real_pt2, tmp_path / "bad.pt2", edit)
    with pytest.raises(UserError, match="data/weights/other.pt"):
        read_pt2(bad, trust_pickle=False)
    assert not marker.exists()
