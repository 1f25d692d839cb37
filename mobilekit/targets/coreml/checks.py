"""Structural checks of a package on any host: I/O, labels, OS, weight bit widths."""

from __future__ import annotations

from pathlib import Path

from ...errors import CheckError
from ..base import ArtifactRecord
from .common import _first_line
from .inspect import inspect_package
from .options import _LABEL_OUTPUT, _OS_OF_SPEC, _PROBS_OUTPUT

# --------------------------------------------------------------------------------------------
# structural checks (Linux)


def check_package(record: ArtifactRecord, bundle_dir: Path, spec: dict) -> dict:
    """The package loads, has the I/O the record promises and the weights its variant promises."""
    path = bundle_dir / record.path
    where = f"coreml {record.variant} ({record.path})"
    if not path.is_dir():
        raise CheckError(f"{where}: package missing")
    try:
        facts = inspect_package(path)
    except CheckError:
        raise
    except Exception as exc:
        raise CheckError(f"{where}: package does not load: {type(exc).__name__}: {_first_line(exc)}") from exc
    io = facts["io"]
    problems = []
    spec_inputs = {t["name"]: t for t in spec.get("inputs", [])}
    for t in record.inputs:
        got = io["inputs"].get(t.tensor)
        if got is None:
            problems.append(f"input {t.tensor!r} missing (has {sorted(io['inputs'])})")
            continue
        st = spec_inputs.get(t.name)
        if t.layout == "image":
            if got["type"] != "image":
                problems.append(f"input {t.tensor!r} is {got['type']}, the record promises an image")
            elif st is not None:
                h, w = st["shape"][-2:]
                color = (st.get("preprocessing") or {}).get("color", "RGB")
                if (got["height"], got["width"]) != (h, w):
                    problems.append(f"input {t.tensor!r} is {got['width']}x{got['height']}, the spec says {w}x{h}")
                if got["color"] != color:
                    problems.append(f"input {t.tensor!r} is {got['color']}, the spec says {color}")
        else:
            if got["type"] != "array":
                problems.append(f"input {t.tensor!r} is {got['type']}, the record promises a multi-array")
            elif got["dtype"] != t.dtype:
                problems.append(f"input {t.tensor!r} is {got['dtype']}, the record promises {t.dtype}")
            elif got["shape"] and list(got["shape"]) != list(t.shape):
                problems.append(f"input {t.tensor!r} has shape {got['shape']}, the record promises {t.shape}")
            elif st is not None and st.get("dynamic"):
                ranges = got.get("ranges") or []
                fixed = [k for k in st["dynamic"] if k >= len(ranges) or ranges[k][0] == ranges[k][1]]
                if fixed:
                    problems.append(f"input {t.tensor!r}: dims {fixed} should be flexible (the spec marks them dynamic)")
    spec_outputs = {t["name"]: t for t in spec.get("outputs", [])}
    for t in record.outputs:
        got = io["outputs"].get(t.tensor)
        if got is None:
            problems.append(f"output {t.tensor!r} missing (has {sorted(io['outputs'])})")
            continue
        if got["dtype"] != t.dtype:
            problems.append(f"output {t.tensor!r} is {got['dtype']}, the record promises {t.dtype}")
        want = list((spec_outputs.get(t.name) or {}).get("shape") or t.shape)
        if want and got["shape"] and list(got["shape"]) != want:
            problems.append(f"output {t.tensor!r} has shape {got['shape']}, expected {want}")
    labels = next((o.get("labels") for o in spec.get("outputs", []) if o.get("labels")), None)
    if labels and record.details.get("classifier"):
        if io["predicted_feature"] != _LABEL_OUTPUT or io["predicted_probabilities"] != _PROBS_OUTPUT:
            problems.append(f"not a classifier with outputs {_LABEL_OUTPUT!r}/{_PROBS_OUTPUT!r}")
        got_labels = facts["classify_labels"]
        if got_labels is not None and got_labels != [str(x) for x in labels]:
            problems.append(f"classifier labels differ from the spec's (first: {got_labels[:3]} vs {labels[:3]})")
    problems += _check_weights(record, facts["weights"])
    if record.min_os and facts["spec_version"] in _OS_OF_SPEC:
        want_min = record.min_os
        fam = "macOS" if want_min.startswith("macOS") else "iOS"
        got_min = fam + _OS_OF_SPEC[facts["spec_version"]][fam]
        if got_min != want_min:
            problems.append(f"needs {got_min} but the record says {want_min}")
    if problems:
        raise CheckError(f"{where}: " + "; ".join(problems))
    return {
        "spec_version": facts["spec_version"],
        "ops": facts["ops"],
        "op_count": facts["op_count"],
        "weight_elements": facts["weights"]["elements"],
        "weight_bits": facts["weights"]["bits"],
        "compressed_fraction": facts["weights"]["compressed_fraction"],
        "uncompressed_large": [e["name"] for e in facts["weights"]["tensors"]
                               if not e.get("op") and e["elements"] > int(record.details.get("weight_threshold", 2048))
                               and record.compression],
        "size_bytes": facts["size_bytes"],
        "inputs": io["inputs"],
        "outputs": io["outputs"],
    }


# A compressed variant fails its check when less than this share of its eligible weights (float
# tensors of more than weight_threshold elements: coremltools compresses `size > threshold`, so a
# tensor of exactly that many stays float) is stored compressed. coremltools skips a tensor it
# cannot compress with the requested layout (and says so only in its log); a few such tensors are
# listed in the facts, more than this share fails.
_MIN_COMPRESSED_SHARE = 0.9


def _check_weights(record: ArtifactRecord, weights: dict) -> list[str]:
    """Does the weight storage match what the variant promises?"""
    threshold = int(record.details.get("weight_threshold", 2048))
    tensors = weights["tensors"]
    big_plain = [e for e in tensors if not e.get("op") and e["elements"] > threshold]
    compressed = [e for e in tensors if e.get("op")]
    v = record.variant
    if v in ("fp16", "fp32"):
        want = "fp16" if v == "fp16" else "fp32"
        bad = [e for e in big_plain if e["kind"] != want]
        if compressed:
            return [f"{v} should have no compressed weights, found {len(compressed)} ({compressed[0]['op']})"]
        if bad:
            return [f"{v} weights should be {want}, {bad[0]['name']} is {bad[0]['kind']}"]
        return []
    problems = []
    if not compressed:
        return [f"{v} promises compressed weights but none are"]
    c = record.compression[0] if record.compression else {}
    if c.get("method") == "magnitude_pruning":
        kinds = {e["kind"] for e in compressed}
        if kinds != {"sparse"}:
            problems.append(f"pruned weights should be sparse, found {sorted(kinds)}")
        want = float(c.get("target_sparsity", 0.0))
        low = [e for e in compressed if e.get("sparsity", 0.0) < want - 0.01]
        if low:
            problems.append(f"{low[0]['name']} has sparsity {low[0]['sparsity']:.3f} < {want}")
    else:
        want_bits = int(c.get("bits", 0))
        wrong = [e for e in compressed if e.get("bits") != want_bits]
        if wrong:
            problems.append(f"{v} promises {want_bits}-bit weights, {wrong[0]['name']} has {wrong[0].get('bits')} ({wrong[0]['kind']})")
        if c.get("method") == "palettization" and any(not e["kind"].startswith("lut") for e in compressed):
            problems.append(f"{v} weights should be palettized")
    eligible = sum(e["elements"] for e in compressed) + sum(e["elements"] for e in big_plain)
    share = sum(e["elements"] for e in compressed) / eligible if eligible else 1.0
    if share < _MIN_COMPRESSED_SHARE:
        names = ", ".join(e["name"] for e in big_plain[:3])
        problems.append(f"only {share:.0%} of the weights (tensors of >= {threshold} elements) are compressed; "
                        f"{len(big_plain)} are not ({names})")
    return problems
