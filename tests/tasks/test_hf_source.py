"""Bad Hugging Face sources get one line naming the problem and the fix, before anything heavy runs."""

import json
import subprocess
import sys

import pytest

from mobilekit.errors import SourceError, UserError
from mobilekit.tasks import hf


def _folder(tmp_path, config: dict, weights: bool = True):
    (tmp_path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    if weights:
        (tmp_path / "model.safetensors").write_bytes(b"")  # never read: the checks come first
    return tmp_path


def test_a_family_it_does_not_know_names_the_class_and_the_families(tmp_path):
    path = _folder(tmp_path, {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"]})
    with pytest.raises(UserError) as exc:
        hf.load_folder(path)
    line = exc.value.one_line()
    assert "GPT2LMHeadModel" in line and "MarianMT" in line and "M2M100" in line and "T5" in line and "\n" not in line


def test_a_folder_without_safetensors_is_refused(tmp_path):
    path = _folder(tmp_path, {"model_type": "marian"}, weights=False)
    (tmp_path / "pytorch_model.bin").write_bytes(b"not unpickled")
    with pytest.raises(SourceError, match="no .safetensors") as exc:
        hf.load_folder(path)
    assert "safe_serialization=True" in exc.value.one_line()


def test_custom_code_is_never_run(tmp_path):
    path = _folder(tmp_path, {"model_type": "marian", "auto_map": {"AutoModelForSeq2SeqLM": "modeling_x.Model"}})
    (tmp_path / "modeling_x.py").write_text("raise SystemExit('ran the folder code')\n", encoding="utf-8")
    with pytest.raises(SourceError, match="auto_map") as exc:
        hf.load_folder(path)
    assert "model=" in exc.value.one_line()


def test_a_folder_without_config_is_refused(tmp_path):
    with pytest.raises(SourceError, match="no config.json"):
        hf.load_folder(tmp_path)


def test_the_cli_says_it_in_one_line_with_exit_code_2(tmp_path):
    (tmp_path / "model").mkdir()
    path = _folder(tmp_path / "model", {"model_type": "pegasus", "architectures": ["PegasusForConditionalGeneration"]})
    (tmp_path / "held.txt").write_text("a sentence .\n", encoding="utf-8")
    (tmp_path / "mobilekit.toml").write_text(
        f'name = "x"\ntask = "translation"\nsource = "hf:{path}"\ntargets = ["onnx"]\n'
        f'[translation]\ntokenizer = "{path}/tokenizer.json"\ndata = "held.txt"\n', encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "mobilekit", "export", "--config", str(tmp_path / "mobilekit.toml"),
                          "--output", str(tmp_path / "dist")], capture_output=True, text=True, timeout=300)
    assert out.returncode == 2, out.stderr[-2000:]
    lines = [ln for ln in out.stderr.splitlines() if "PegasusForConditionalGeneration" in ln]
    assert lines and "Traceback" not in out.stderr, out.stderr[-2000:]
    assert not (tmp_path / "dist").exists()
