"""bundle.py: the ownership marker, the destination checks, the lock, the atomic commit and the
recovery of an interrupted one — on real folders (no model needed)."""

import errno
import json
import os
import sys
from pathlib import Path

import pytest

from mobilekit import bundle
from mobilekit.errors import BundleError, UserError


def manifest(name="m") -> dict:
    return {
        "schema": bundle.SCHEMA, "name": name, "version": "1", "task": "generic", "created_with": {},
        "inputs": [{"name": "x", "shape": [1, 2], "dtype": "float32"}],
        "outputs": [{"name": "y", "shape": [1, 2], "dtype": "float32"}],
        "artifacts": [{"target": "onnx", "variant": "fp32", "status": "failed", "error": "e", "path": "onnx/model.onnx"}],
    }


def make_bundle(dest: Path, payload: str = "new", inputs=()) -> Path:
    """What every export does: stage, write, commit (discard on any error)."""
    st = bundle.Staging(dest, inputs=inputs)
    try:
        (st.path / "payload.txt").write_text(payload)
        bundle.write_manifest(st.path, manifest())
        return st.commit()
    except BaseException:
        st.discard()
        raise


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith((".mobilekit-staging-", ".mobilekit-old-")))


def test_a_committed_bundle_carries_the_marker_and_replaces_only_itself(tmp_path):
    dest = make_bundle(tmp_path / "b", "one")
    marker = json.loads((dest / bundle.OWNER_MARKER).read_text())
    assert marker == {"schema": bundle.OWNER_SCHEMA, "made_by": "mobilekit"} and bundle.owned(dest)
    (dest / "stale.txt").write_text("x")
    make_bundle(tmp_path / "b", "two")
    assert (dest / "payload.txt").read_text() == "two" and not (dest / "stale.txt").exists()
    assert leftovers(tmp_path) == []  # the previous bundle went with the exchange


@pytest.mark.parametrize("marker", ['{"schema": "other/1", "made_by": "mobilekit"}', "not json", ""])
def test_a_folder_with_a_manifest_but_no_valid_marker_is_refused(tmp_path, marker):
    web = tmp_path / "b"
    (web / "icons").mkdir(parents=True)
    (web / "manifest.json").write_text('{"name": "my web app", "icons": []}')
    (web / "index.html").write_text("<html>")
    if marker:
        (web / bundle.OWNER_MARKER).write_text(marker)
    before = {p.name for p in web.iterdir()}
    with pytest.raises(UserError, match="not a bundle mobilekit made"):
        make_bundle(web)
    assert {p.name for p in web.iterdir()} == before and (web / "index.html").read_text() == "<html>"
    assert leftovers(tmp_path) == []


def test_an_older_bundle_without_the_marker_is_refused_with_the_way_forward(tmp_path):
    old = tmp_path / "b"
    old.mkdir()
    (old / "manifest.json").write_text(json.dumps(manifest()))
    with pytest.raises(UserError) as err:
        make_bundle(old)
    line = err.value.one_line()
    assert "ownership marker" in line and f"rm -r {old}" in line and "\n" not in line
    assert bundle.load_bundle(old).name == "m"  # readers still accept it


def test_a_symlinked_destination_is_refused_and_its_target_kept(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    (tmp_path / "b").symlink_to(mine)
    with pytest.raises(UserError, match="symbolic link"):
        make_bundle(tmp_path / "b")
    assert (mine / "notes.txt").read_text() == "keep" and (tmp_path / "b").is_symlink()


def test_a_destination_inside_a_bundle_is_refused(tmp_path):
    outer = make_bundle(tmp_path / "tiny")
    with pytest.raises(UserError, match="is inside the bundle"):
        make_bundle(outer / "tiny")
    assert not (outer / "tiny").exists() and leftovers(outer) == []


def test_an_input_inside_the_output_is_refused(tmp_path):
    dest = make_bundle(tmp_path / "b")
    weights = dest / "weights.safetensors"
    weights.write_bytes(b"w")
    with pytest.raises(UserError, match="is inside the output"):
        make_bundle(dest, inputs=[weights])
    assert weights.read_bytes() == b"w"


def test_a_second_export_to_the_same_destination_is_told_to_wait(tmp_path):
    first = bundle.Staging(tmp_path / "b")
    try:
        with pytest.raises(bundle.Locked, match=f"another export is writing {tmp_path / 'b'}"):
            bundle.Staging(tmp_path / "b")
        other = bundle.Staging(tmp_path / "c")  # another destination is not blocked
        other.discard()
    finally:
        first.discard()
    make_bundle(tmp_path / "b")  # released
    assert bundle.owned(tmp_path / "b")


def test_the_lock_is_held_across_processes(tmp_path):
    import subprocess
    import sys

    code = ("import sys; from mobilekit import bundle; from mobilekit.errors import UserError\n"
            "try:\n    bundle.Staging(sys.argv[1])\nexcept UserError as e:\n    print(e.one_line()); sys.exit(2)\n")
    first = bundle.Staging(tmp_path / "b")
    try:
        out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "b")], capture_output=True, text=True, timeout=60)
    finally:
        first.discard()
    assert out.returncode == 2 and "another export is writing" in out.stdout


def test_a_commit_killed_between_two_renames_is_recovered_on_read(tmp_path, monkeypatch):
    dest = make_bundle(tmp_path / "b", "old")
    monkeypatch.setattr(bundle, "exchange", lambda a, b: False)  # a file system without RENAME_EXCHANGE
    real_rename = os.rename
    calls = []

    def dying_rename(a, b):
        calls.append((a, b))
        if len(calls) == 2:
            raise KeyboardInterrupt  # SIGKILL-like: between the two renames
        return real_rename(a, b)

    monkeypatch.setattr(bundle.os, "rename", dying_rename)
    with pytest.raises(KeyboardInterrupt):
        make_bundle(tmp_path / "b", "new")
    monkeypatch.setattr(bundle.os, "rename", real_rename)
    assert not dest.exists()  # the state a kill leaves: only the retired copy
    assert bundle.load_bundle(dest).name == "m"  # a read path puts it back
    assert (dest / "payload.txt").read_text() == "old"
    make_bundle(tmp_path / "b", "newer")
    assert (dest / "payload.txt").read_text() == "newer" and leftovers(tmp_path) == []


def test_the_fallback_commit_replaces_the_bundle(tmp_path, monkeypatch):
    make_bundle(tmp_path / "b", "old")
    monkeypatch.setattr(bundle, "exchange", lambda a, b: False)
    dest = make_bundle(tmp_path / "b", "new")
    assert (dest / "payload.txt").read_text() == "new" and leftovers(tmp_path) == []


def test_a_read_only_previous_bundle_is_replaced(tmp_path):
    dest = make_bundle(tmp_path / "b", "old")
    (dest / "sub").mkdir()
    (dest / "sub" / "f").write_text("x")
    for p in [dest / "sub" / "f", dest / "payload.txt", dest / "sub", dest]:
        p.chmod(0o555 if p.is_dir() else 0o444)
    make_bundle(tmp_path / "b", "new")
    assert (dest / "payload.txt").read_text() == "new" and leftovers(tmp_path) == []


def test_a_disk_full_while_committing_keeps_the_previous_bundle(tmp_path, monkeypatch):
    dest = make_bundle(tmp_path / "b", "old")

    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(bundle, "write_atomic", full)
    with pytest.raises(OSError) as err:
        make_bundle(tmp_path / "b", "new")
    assert err.value.errno == errno.ENOSPC
    assert (dest / "payload.txt").read_text() == "old" and leftovers(tmp_path) == []


def test_stale_staging_of_a_dead_process_is_cleaned_and_a_live_one_kept(tmp_path):
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout.strip()
    stale = tmp_path / f".mobilekit-staging-b-{dead}-abcdef12"
    live = tmp_path / f".mobilekit-staging-c-{os.getppid()}-abcdef12"
    for p in (stale, live):
        p.mkdir()
    make_bundle(tmp_path / "b")
    assert not stale.exists() and live.exists()


def test_write_atomic_replaces_a_link_and_never_writes_through_it(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("user's")
    (tmp_path / "report.md").symlink_to(victim)
    bundle.write_atomic(tmp_path / "report.md", b"report")
    assert victim.read_text() == "user's"
    assert not (tmp_path / "report.md").is_symlink() and (tmp_path / "report.md").read_text() == "report"


def test_write_atomic_refuses_a_folder_at_the_path(tmp_path):
    (tmp_path / "report.md").mkdir()
    with pytest.raises(UserError, match="is a folder"):
        bundle.write_atomic(tmp_path / "report.md", b"x")


def test_remove_tree_never_follows_a_link_out(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.png").write_bytes(b"png")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "report").symlink_to(outside)
    bundle.remove_tree(tree)
    assert not tree.exists() and (outside / "keep.png").read_bytes() == b"png"


def test_a_name_longer_than_200_bytes_is_one_line(tmp_path):
    with pytest.raises(UserError) as err:
        bundle.Staging(tmp_path / ("é" * 101))
    assert "202 bytes" in err.value.one_line() and "at most 200 bytes" in err.value.one_line()
    assert list(tmp_path.iterdir()) == []


def test_a_manifest_with_a_duplicate_key_is_refused(tmp_path):
    text = json.dumps(manifest()).replace('"name": "m"', '"name": "m", "name": "other"')
    (tmp_path / "manifest.json").write_text(text)
    with pytest.raises(BundleError, match="'name' twice"):
        bundle.load_bundle(tmp_path)


def test_a_huge_manifest_is_refused_without_reading_it(tmp_path):
    with open(tmp_path / "manifest.json", "wb") as fh:
        fh.truncate(bundle.MAX_MANIFEST_BYTES + 1)  # sparse: costs no disk
    with pytest.raises(BundleError, match="larger than any manifest"):
        bundle.load_bundle(tmp_path)


def test_a_deeply_nested_manifest_is_one_line(tmp_path):
    # Converters in the same process raise the recursion limit; json's C scanner then overflows the
    # C stack (a segfault in CI) unless the depth is checked before parsing.
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 200000))
    try:
        (tmp_path / "manifest.json").write_text("[" * 100000 + "]" * 100000)
        with pytest.raises(BundleError, match="nested too deeply"):
            bundle.load_bundle(tmp_path)
    finally:
        sys.setrecursionlimit(old)


def test_a_link_inside_a_folder_artifact_is_refused(tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    root = tmp_path / "b"
    pkg = root / "coreml" / "M.mlpackage"
    pkg.mkdir(parents=True)
    (pkg / "weights.bin").symlink_to(outside)
    m = manifest()
    m["artifacts"] = [{"target": "coreml", "variant": "fp16", "status": "unverified", "status_reason": "r",
                       "path": "coreml/M.mlpackage", "sha256": bundle.sha256(pkg), "size_bytes": 6, "precision": "fp16",
                       "layout": "NCHW", "made_by": {}}]
    (root / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(BundleError, match="holds a symbolic link"):
        bundle.load_bundle(root)
