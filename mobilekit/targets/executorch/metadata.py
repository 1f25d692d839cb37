"""The model's metadata as constant methods of the program, read back with `executorch.runtime`.

ExecuTorch has no metadata table; a constant method is a method that returns a value baked into
the program, which an app reads with `module.execute("get_labels")` (Android) or
`module.execute("get_labels")` (Swift) before the first inference:

- `get_labels`: the labelled output's labels, one per line ("" when there are none);
- `get_mean`, `get_std`, `get_scale`: the image input's normalization, x = (pixel * scale - mean) / std
  (only when the model has an image input);
- `get_metadata_json`: everything else as JSON (name, version, author, license, description,
  inputs/outputs with names, shapes, dtypes and preprocessing, the variant, the versions).
"""

from __future__ import annotations

import json
from pathlib import Path

METHODS = ("get_labels", "get_mean", "get_std", "get_scale", "get_metadata_json")


def constant_methods(spec: dict, variant: str, versions: dict) -> dict:
    labelled = next((t for t in spec["outputs"] if t.get("labels")), None)
    image = next((t for t in spec["inputs"] if t.get("preprocessing")), None)
    doc = {k: spec.get(k) or "" for k in ("name", "version", "author", "license", "description", "task")}
    doc.update(
        schema="mobilekit.executorch.metadata/1",
        variant=variant,
        inputs=[{k: t.get(k) for k in ("name", "shape", "dtype", "preprocessing", "description")} for t in spec["inputs"]],
        outputs=[{k: t.get(k) for k in ("name", "shape", "dtype", "description")} for t in spec["outputs"]],
        labels_output=labelled["name"] if labelled else None,
        made_with={k: v for k, v in versions.items() if v},
    )
    methods: dict = {
        "get_labels": "\n".join(str(x) for x in labelled["labels"]) if labelled else "",
        "get_metadata_json": json.dumps(doc, sort_keys=True, ensure_ascii=False),
    }
    if image:
        pre = image["preprocessing"]
        methods.update(get_mean=[float(v) for v in pre["mean"]], get_std=[float(v) for v in pre["std"]],
                       get_scale=float(pre["scale"]))
    return methods


def read(path: Path) -> dict:
    """The constant methods of a `.pte`, by name (labels as a list, the JSON parsed)."""
    from executorch.runtime import Runtime

    program = Runtime.get().load_program(str(path))
    out = {}
    for name in METHODS:
        if name not in program.method_names:
            continue
        values = list(program.load_method(name).execute([]))  # a list constant comes back as its items
        value = [float(v) for v in values] if name in ("get_mean", "get_std") else values[0]
        if name == "get_labels":
            value = value.split("\n") if value else []
        elif name == "get_metadata_json":
            value = json.loads(value)
        out[name] = value
    return out
