"""The sweep's results.json format (schema mobilekit.sweep/1): what the driver writes and the
report reads, so neither imports the other."""

from __future__ import annotations

import json
from importlib import resources

from ..errors import BundleError

SCHEMA = "mobilekit.sweep/1"


def schema() -> dict:
    return json.loads(resources.files("mobilekit.schemas").joinpath("sweep.schema.json").read_text())


def validate(doc: dict, where: str) -> None:
    import jsonschema

    errs = sorted(jsonschema.Draft202012Validator(schema()).iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    if errs:
        at = "/".join(map(str, errs[0].absolute_path)) or "(top)"
        raise BundleError(f"{where} is not a valid {SCHEMA} file: {at}: {errs[0].message[:160]}",
                          hint="Delete it to start the sweep afresh.")
