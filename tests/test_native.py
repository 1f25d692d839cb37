"""mobilekit/_native.py: triton (brought by torch's CUDA wheels) is loaded before TensorFlow in
every process that may import both, because the other order segfaults (torch 2.14.1 + TF 2.21)."""

import subprocess
import sys
import textwrap


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)


def test_without_triton_it_loads_nothing(tmp_path):
    blocker = tmp_path / "triton.py"  # shadows any real triton: importing it fails, as if absent
    blocker.write_text("raise ImportError('no triton here')\n")
    r = _run(f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        from mobilekit._native import before_tensorflow
        print(before_tensorflow(), 'triton' in sys.modules)
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["False", "False"]


def test_with_triton_installed_it_is_loaded_first(tmp_path):
    fake = tmp_path / "triton"
    fake.mkdir()
    (fake / "__init__.py").write_text("import sys\nassert 'tensorflow' not in sys.modules\nLOADED = True\n")
    r = _run(f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        from mobilekit._native import before_tensorflow
        print(before_tensorflow(), 'triton' in sys.modules, before_tensorflow())
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", "True", "False"]


def test_the_converter_worker_calls_it_before_any_converter():
    from mobilekit import worker

    src = open(worker.__file__).read()
    child = src[src.index("def _child"):]
    assert child.index("before_tensorflow()") < child.index("target.convert(job)")
