"""Benchmarks: one result schema (`mobilekit.bench/1`) for the host and for devices.

- `results`  the schema, statistics, reading and writing `<bundle>/bench/*.json`
- `host`     `mobilekit bench BUNDLE`: every artifact this host can run, on the golden inputs
- `harness`  generates the Android and iOS benchmark harnesses into `<bundle>/harness/`
- `importer` `mobilekit bench import`: device results (JSON, benchmark_model logs, xcodebuild
             logs) checked against the schema and the bundle's checksums

Nothing here imports a runtime at module level.
"""

from __future__ import annotations

from .results import SCHEMA

__all__ = ["SCHEMA"]
