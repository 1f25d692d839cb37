"""Rule 1: `import mobilekit` and `mobilekit --help` import no torch, onnx, TensorFlow or coremltools."""

import subprocess
import sys

HEAVY = ["torch", "onnx", "onnxruntime", "tensorflow", "coremltools", "onnx2tf", "numpy"]


def test_import_mobilekit_imports_nothing_heavy():
    code = (
        "import sys, mobilekit\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_help_runs_with_heavy_packages_unimportable():
    # A meta-path hook makes every heavy import fail: --help must not need any of them.
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.split('.')[0] in {HEAVY!r}: raise ImportError('blocked ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from mobilekit.cli import main\n"
        "for args in (['--help'], ['export', '--help'], ['verify', '--help'], ['inspect', '--help']):\n"
        "    try:\n"
        "        main(args)\n"
        "    except SystemExit as e:\n"
        "        assert e.code == 0, (args, e.code)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "Usage" in out.stdout and "export" in out.stdout
