"""What an export may replace, and what it leaves: someone else's folder, an older unmarked
bundle, a link, a bundle around the output, inputs inside the output — refused with exit 2 and
untouched; a read-only previous bundle replaced; a full or forbidden disk exit 2 with the previous
bundle intact; paths typed on the command line are relative to the cwd, config paths to the config."""

import errno
import json
import shutil

import pytest

from adversarial.helpers import TINY, cli, error_line, snapshot, write_config
from mobilekit import bundle as bundle_mod


def _staging_left(dist):
    return [p.name for p in dist.iterdir() if p.name.startswith((".mobilekit-staging-", ".mobilekit-old-"))]


def test_a_web_app_with_a_manifest_is_never_replaced(tmp_path):
    web = tmp_path / "dist" / "tiny"
    (web / "icons").mkdir(parents=True)
    (web / "manifest.json").write_text('{"name": "My PWA", "start_url": "/"}')
    (web / "index.html").write_text("<html>")
    (web / "icons" / "a.png").write_bytes(b"png")
    before = snapshot(web)
    line = error_line(cli("export", "--config", write_config(tmp_path)), 2)
    assert "not a bundle mobilekit made" in line and "left untouched" in line
    assert snapshot(web) == before and _staging_left(tmp_path / "dist") == []


def test_re_exporting_over_an_older_unmarked_bundle_says_how_to_proceed(tmp_path):
    old = tmp_path / "dist" / "tiny"
    old.mkdir(parents=True)
    (old / "manifest.json").write_text(json.dumps({"schema": bundle_mod.SCHEMA, "name": "tiny"}))
    before = snapshot(old)
    line = error_line(cli("export", "--config", write_config(tmp_path)), 2)
    assert "ownership marker" in line and f"delete it (`rm -r {old}`)" in line
    assert snapshot(old) == before


def test_a_linked_destination_is_refused(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "tiny").symlink_to(mine)
    assert "symbolic link" in error_line(cli("export", "--config", write_config(tmp_path)), 2)
    assert (mine / "thesis.tex").read_text() == "years of work"


def test_an_output_inside_the_previous_bundle_is_refused(tmp_path):
    old = tmp_path / "dist" / "tiny"
    old.mkdir(parents=True)
    bundle_mod.write_atomic(old / bundle_mod.OWNER_MARKER, json.dumps({"schema": bundle_mod.OWNER_SCHEMA, "made_by": "mobilekit"}).encode())
    before = snapshot(old)
    line = error_line(cli("export", "--config", write_config(tmp_path), "--output", old), 2)
    assert f"is inside the bundle {old}" in line
    assert snapshot(old) == before


def test_weights_inside_the_bundle_being_replaced_are_refused(tmp_path):
    import tiny_models
    from safetensors.torch import save_file

    old = tmp_path / "dist" / "tiny"
    old.mkdir(parents=True)
    bundle_mod.write_atomic(old / bundle_mod.OWNER_MARKER, json.dumps({"schema": bundle_mod.OWNER_SCHEMA, "made_by": "mobilekit"}).encode())
    save_file(tiny_models.build().state_dict(), str(old / "w.safetensors"))
    before = snapshot(old)
    line = error_line(cli("export", "--config", write_config(tmp_path, 'weights = "dist/tiny/w.safetensors"\n')), 2)
    assert "is inside the output" in line and snapshot(old) == before


# -- paths: flags from the cwd, config values from the config's folder ------------------------------

def _mismatched_weights(path):
    import torch
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({"not.in.model": torch.zeros(1)}, str(path))


def test_a_weights_flag_is_relative_to_the_cwd(tmp_path):
    cfg = write_config(tmp_path / "repo" / "configs")
    _mismatched_weights(tmp_path / "work" / "w.safetensors")  # only where the user typed it from
    line = error_line(cli("export", "--config", cfg, "--weights", "w.safetensors", cwd=tmp_path / "work"), 2)
    assert f"weights {tmp_path / 'work' / 'w.safetensors'} do not fit" in line


def test_a_weights_value_in_the_config_is_relative_to_the_config(tmp_path):
    cfg = write_config(tmp_path / "repo" / "configs", 'weights = "w.safetensors"\n')
    _mismatched_weights(tmp_path / "repo" / "configs" / "w.safetensors")
    (tmp_path / "work").mkdir()
    line = error_line(cli("export", "--config", cfg, cwd=tmp_path / "work"), 2)
    assert f"configs/w.safetensors do not fit" in line and "work" not in line


def test_an_output_flag_is_relative_to_the_cwd_and_the_config_value_to_the_config(tmp_path):
    cfg = write_config(tmp_path / "repo")
    for where in (tmp_path / "work" / "out" / "tiny", tmp_path / "repo" / "dist" / "tiny"):
        where.mkdir(parents=True)
        (where / "notes.txt").write_text("mine")  # not a bundle: the refusal names the folder it resolved
    line = error_line(cli("export", "--config", cfg, "--output", "out", cwd=tmp_path / "work"), 2)
    assert f"{tmp_path / 'work' / 'out' / 'tiny'} exists and is not a bundle" in line
    line = error_line(cli("export", "--config", cfg, cwd=tmp_path / "work"), 2)
    assert f"{tmp_path / 'repo' / 'dist' / 'tiny'} exists and is not a bundle" in line


# -- real exports -------------------------------------------------------------------------------

@pytest.mark.slow
def test_export_verify_report_through_the_cli(tmp_path):
    cfg = write_config(tmp_path)
    result = cli("export", "--config", cfg, cwd=tmp_path)
    assert result.exit_code == 0, result.output
    dest = tmp_path / "dist" / "tiny"
    assert bundle_mod.owned(dest)
    for command in ("verify", "report", "inspect"):
        r = cli(command, dest)
        assert r.exit_code == 0, (command, r.output)
    assert bundle_mod.owned(dest) and (dest / "report.html").is_file()
    again = cli("export", "--config", cfg, cwd=tmp_path)  # our own bundle, replaced
    assert again.exit_code == 0, again.output
    assert _staging_left(tmp_path / "dist") == []


def _into(fresh_bundle, tmp_path):
    """The session's real bundle as the previous one at tmp_path/dist/tiny, with a config for it."""
    assert fresh_bundle == tmp_path / "dist" / "tiny"
    return write_config(tmp_path)


@pytest.mark.slow
def test_a_read_only_previous_bundle_is_replaced(fresh_bundle, tmp_path):
    cfg = _into(fresh_bundle, tmp_path)
    for p in sorted(fresh_bundle.rglob("*"), reverse=True) + [fresh_bundle]:
        p.chmod(0o555 if p.is_dir() else 0o444)
    result = cli("export", "--config", cfg, "--force")
    assert result.exit_code == 0, result.output
    assert bundle_mod.owned(fresh_bundle) and _staging_left(tmp_path / "dist") == []


@pytest.mark.slow
@pytest.mark.parametrize("err, words", [
    (errno.ENOSPC, "no space left on the device"),
    (errno.EROFS, "the file system is read-only"),
    (errno.EACCES, "permission denied"),
])
def test_a_full_or_forbidden_disk_keeps_the_previous_bundle(fresh_bundle, tmp_path, monkeypatch, err, words):
    cfg = _into(fresh_bundle, tmp_path)
    before = snapshot(fresh_bundle)

    def fail(root, manifest):  # the last write before the commit
        raise OSError(err, "mocked", str(root / "manifest.json"))

    monkeypatch.setattr(bundle_mod, "write_manifest", fail)
    line = error_line(cli("export", "--config", cfg), 2)
    assert words in line and "manifest.json" in line
    assert snapshot(fresh_bundle) == before and _staging_left(tmp_path / "dist") == []


@pytest.mark.slow
def test_a_failed_capture_says_no_bundle_was_written(fresh_bundle, tmp_path):
    cfg = write_config(tmp_path, base=TINY.replace("tiny_models:build", "adversarial.hostile:untraceable"))
    before = snapshot(fresh_bundle)
    line = error_line(cli("export", "--config", cfg), 1)
    assert "torch.export failed" in line and "no bundle was written" in line
    assert snapshot(fresh_bundle) == before and _staging_left(tmp_path / "dist") == []


@pytest.mark.slow
@pytest.mark.parametrize("n", [2, 5])
def test_a_labels_file_of_another_length_is_one_line(tmp_path, n):
    (tmp_path / "labels.txt").write_text("".join(f"class{i}\n" for i in range(n)))
    cfg = write_config(tmp_path, base=TINY.replace('name = "logits"', 'name = "logits"\nlabels = "labels.txt"'))
    line = error_line(cli("export", "--config", cfg), 2)
    assert f"has {n} labels but the output has 3 values" in line
    assert not (tmp_path / "dist" / "tiny").exists() and _staging_left(tmp_path / "dist") == []


@pytest.mark.slow
def test_a_copy_of_a_bundle_into_the_output_is_ours_and_replaced(fresh_bundle, tmp_path):
    """A bundle downloaded from CI carries the marker: exporting over it replaces it."""
    copy = tmp_path / "dl"
    shutil.copytree(fresh_bundle, copy / "tiny")
    result = cli("export", "--config", write_config(tmp_path), "--output", copy)
    assert result.exit_code == 0, result.output
    assert bundle_mod.owned(copy / "tiny")
