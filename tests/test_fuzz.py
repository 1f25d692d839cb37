"""Property tests: config loading and manifest reading never raise anything but our errors."""

import json

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mobilekit import bundle, config
from mobilekit.errors import MobileKitError

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10, 10), st.floats(allow_nan=True), st.text(max_size=8))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=12)
keys = st.sampled_from(["name", "inputs", "outputs", "targets", "verify", "onnx", "tflite", "timeout", "timeouts",
                        "calibration", "eval", "task", "shape", "preprocessing", "mean", "std", "x"])
configs = st.dictionaries(keys, values, max_size=6)
input_tables = st.fixed_dictionaries({"name": st.text(max_size=6), "shape": st.lists(st.integers(-2, 5), max_size=5)},
                                     optional={"preprocessing": st.dictionaries(keys, values, max_size=3), "dtype": values, "dynamic": values})


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(data=configs, inputs=st.lists(input_tables, max_size=2))
def test_config_loading_raises_only_mobilekit_errors(data, inputs):
    if inputs:
        data = {**data, "inputs": inputs}
    try:
        config.resolve(data)
    except MobileKitError as exc:
        assert "\n" not in exc.one_line()


def _valid_manifest():
    return {
        "schema": "mobilekit.manifest/1", "name": "m", "version": "1", "task": "generic", "created_with": {},
        "inputs": [{"name": "x", "shape": [1, 2], "dtype": "float32"}],
        "outputs": [{"name": "y", "shape": [1, 2], "dtype": "float32", "labels": None}],
        "artifacts": [{"target": "onnx", "variant": "fp32", "status": "failed", "error": "e", "path": "onnx/model.onnx"}],
        "golden": "assets/golden/",
    }


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture], deadline=None)
@given(path=st.lists(st.one_of(st.sampled_from(["artifacts", "inputs", "outputs", "golden", "name", "schema", 0, "path", "shape", "status", "labels"])), min_size=1, max_size=3), value=values)
@example(path=["golden"], value="\x00")  # found by this test: NUL in a path made the OS raise ValueError
def test_manifest_reading_raises_only_bundle_errors(tmp_path, path, value):
    m = _valid_manifest()
    target = m
    for p in path[:-1]:
        try:
            target = target[p]
        except (KeyError, IndexError, TypeError):
            break
    try:
        target[path[-1]] = value
    except (TypeError, IndexError):
        pass
    (tmp_path / "manifest.json").write_text(json.dumps(m, allow_nan=True))
    try:
        bundle.load_bundle(tmp_path)
    except MobileKitError:
        pass


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=200))
def test_garbage_manifest_bytes(tmp_path, raw):
    (tmp_path / "manifest.json").write_bytes(raw)
    try:
        bundle.load_bundle(tmp_path)
    except MobileKitError:
        pass
