"""Bundles downloaded from CI are untrusted: links out of the bundle, manifest paths that escape
it, duplicate keys, huge or deep manifests. `inspect`, `verify` and `report` refuse each with
exit 2 and one line, and nothing outside the bundle (nor in it) is read into a result or changed."""

import json
import os
import shutil

import pytest

from adversarial.helpers import cli, error_line, snapshot
from mobilekit import bundle as bundle_mod


def _manifest(**artifact):
    a = {"target": "onnx", "variant": "fp32", "status": "unverified", "status_reason": "test", "path": "onnx/model.onnx",
         "sha256": "0" * 64, "size_bytes": 4, "precision": "fp32", "layout": "NCHW", "made_by": {}}
    a.update(artifact)
    return {"schema": bundle_mod.SCHEMA, "name": "evil", "version": "1", "task": "generic", "created_with": {},
            "inputs": [{"name": "x", "shape": [1, 2], "dtype": "float32"}],
            "outputs": [{"name": "y", "shape": [1, 2], "dtype": "float32"}], "artifacts": [a]}


def _write(root, m):
    (root / "onnx").mkdir(parents=True, exist_ok=True)
    (root / "onnx" / "model.onnx").write_bytes(b"onnx")
    (root / "manifest.json").write_text(m if isinstance(m, str) else json.dumps(m))


def _escape(root, victim):
    _write(root, _manifest(path="../" * 8 + str(victim).lstrip("/")))
    return "points outside the bundle"


def _absolute(root, victim):
    _write(root, _manifest(path=str(victim)))
    return "points outside the bundle"


def _linked_artifact(root, victim):
    _write(root, _manifest())
    (root / "onnx" / "model.onnx").unlink()
    (root / "onnx" / "model.onnx").symlink_to(victim)
    return "points outside the bundle"


def _linked_folder(root, victim):
    _write(root, _manifest())
    shutil.rmtree(root / "onnx")
    (root / "onnx").symlink_to(victim.parent)
    return "points outside the bundle"


def _link_in_package(root, victim):
    pkg = root / "coreml" / "M.mlpackage"
    pkg.mkdir(parents=True)
    (pkg / "weight.bin").symlink_to(victim)
    _write(root, _manifest(target="coreml", path="coreml/M.mlpackage", sha256=bundle_mod.sha256(pkg)))
    return "holds a symbolic link"


def _manifest_link(root, victim):
    victim.write_text(json.dumps(_manifest()))  # even a well-formed manifest elsewhere is not read
    (root / "onnx").mkdir(parents=True)
    (root / "manifest.json").symlink_to(victim)
    return "manifest.json is a symbolic link"


def _duplicate_key(root, victim):
    _write(root, json.dumps(_manifest()).replace('"path": "onnx/model.onnx"', '"path": "onnx/model.onnx", "path": "../../x"'))
    return "'path' twice"


def _huge(root, victim):
    _write(root, "{}")
    with open(root / "manifest.json", "wb") as fh:
        fh.truncate(bundle_mod.MAX_MANIFEST_BYTES + 10)
    return "larger than any manifest"


def _deep(root, victim):
    _write(root, '{"schema": ' + "[" * 200000 + "]" * 200000 + "}")
    return "nested too deeply"


def _golden_escape(root, victim):
    m = _manifest()
    m["golden"] = "../../../../../../../tmp/"
    _write(root, m)
    return "points outside the bundle"


def _labels_escape(root, victim):
    m = _manifest()
    m["outputs"][0]["labels"] = str(victim)
    _write(root, m)
    return "points outside the bundle"


def _log_escape(root, victim):
    _write(root, _manifest(log="../../../../../../../" + str(victim).lstrip("/")))
    return "points outside the bundle"


def _nul(root, victim):
    _write(root, _manifest(path="onnx/model.onnx\x00.png"))
    return "is not a valid path"


def _other_schema(root, victim):
    m = _manifest()
    m["schema"] = "mobilekit.manifest/99"
    _write(root, m)
    return "mobilekit.manifest/99"


def _not_json(root, victim):
    _write(root, "{'name': 'python dict, not json'}")
    return "not valid JSON"


def _not_utf8(root, victim):
    (root / "onnx").mkdir(parents=True)
    (root / "manifest.json").write_bytes(b'{"name": "\xff"}')
    return "not valid JSON"


def _checksum(root, victim):
    _write(root, _manifest())
    return "does not match its checksum"


KINDS = {f.__name__.strip("_"): f for f in (_escape, _absolute, _linked_artifact, _linked_folder, _link_in_package, _manifest_link,
                                              _duplicate_key, _huge, _deep, _golden_escape, _labels_escape, _log_escape, _nul,
                                              _other_schema, _not_json, _not_utf8, _checksum)}
ONLY_VERIFY = {"checksum", "link_in_package"}  # checks of file contents: `verify` (inspect/report read the manifest only)


@pytest.mark.parametrize("command", ["inspect", "verify", "report"])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_hostile_bundle_is_refused_by_every_reader(tmp_path, kind, command):
    if kind in ONLY_VERIFY and command != "verify":
        pytest.skip("a content check: only verify reads artifact files")
    outside = tmp_path / "home"
    outside.mkdir()
    victim = outside / "secret.txt"
    victim.write_text("the user's")
    root = tmp_path / "dl" / "evil"
    root.mkdir(parents=True)
    words = KINDS[kind](root, victim)
    before_out, before_in = snapshot(outside), snapshot(root)
    line = error_line(cli(command, root), 2)
    assert words in line, line
    assert snapshot(outside) == before_out and snapshot(root) == before_in
    assert "the user's" not in line


def test_a_bundle_folder_that_is_a_file_is_one_line(tmp_path):
    (tmp_path / "b").write_text("x")
    assert "is not a bundle folder" in error_line(cli("inspect", tmp_path / "b"), 2)


@pytest.mark.slow
def test_report_replaces_links_and_never_writes_through_them(fresh_bundle, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    for name in ("report.md", "report.html"):
        (home / name).write_text("the user's")
        (fresh_bundle / name).symlink_to(home / name)
    result = cli("report", fresh_bundle)
    assert result.exit_code == 0, result.output
    assert all((home / n).read_text() == "the user's" for n in ("report.md", "report.html"))
    assert not (fresh_bundle / "report.md").is_symlink() and "# " in (fresh_bundle / "report.md").read_text()


@pytest.mark.slow
def test_report_refuses_a_linked_image_folder_and_keeps_its_pngs(fresh_bundle, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "holiday.png").write_bytes(b"\x89PNG mine")
    (fresh_bundle / "report").symlink_to(photos)
    line = error_line(cli("report", fresh_bundle), 2)
    assert "symbolic link" in line
    assert (photos / "holiday.png").read_bytes() == b"\x89PNG mine"
    assert not (fresh_bundle / "report.md").exists()


@pytest.mark.slow
def test_a_tampered_real_artifact_fails_verify_with_one_line(fresh_bundle):
    onnx = fresh_bundle / "onnx" / "model.onnx"
    onnx.write_bytes(onnx.read_bytes() + b"\0")
    line = error_line(cli("verify", fresh_bundle), 2)
    assert "onnx/model.onnx does not match its checksum" in line


@pytest.mark.slow
def test_an_older_bundle_without_the_marker_is_still_read(fresh_bundle):
    (fresh_bundle / bundle_mod.OWNER_MARKER).unlink()  # as bundles written before the marker existed
    for command in ("inspect", "verify", "report"):
        result = cli(command, fresh_bundle)
        assert result.exit_code == 0, (command, result.output)
    assert (fresh_bundle / "report.html").is_file()
    assert os.path.exists(fresh_bundle / "manifest.json")
