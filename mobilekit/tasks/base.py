"""The Task protocol: what a task adds around the exported graphs.

The pipeline (`mobilekit.pipeline`) owns what every export does the same way: staging and
commit, reuse of unchanged work, capture of each graph, the target workers, the manifest
skeleton and the failure summary. A task says only what is its own:

- `prepare`: read the source and the config into the graphs the model splits into (one for
  image classification, an encoder and a decoder step for translation), their specs, the
  targets and the task's data;
- `references`: the torch outputs every artifact is judged against (golden tensors, or greedy
  decoded sentences);
- `judge`: the checks and metrics that give each artifact its manifest entry and status;
- `write_assets` / `manifest`: the golden files and the task's manifest section;
- `reverify`: `mobilekit verify` of the task's bundles.

Each stage returns a new value (`Prepared`, references, `Judged`); the task's own data travels
in `Prepared.state`, typed by the task.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # annotations only: the registry imports tasks lazily and so must this module
    from ..bundle import Bundle
    from ..capture import Captured
    from ..config import ExportConfig
    from ..progress import Progress
    from ..source import Loaded
    from ..spec import ModelSpec
    from ..worker import WorkerResult

SINGLE = "model"  # the graph name of a single-graph task: its artifacts keep their target's own file names


@dataclass(frozen=True)
class Graph:
    """One graph the model splits into: what is captured and converted on its own."""

    name: str
    loaded: "Loaded"
    spec: "ModelSpec"

    def with_spec(self, spec: "ModelSpec") -> "Graph":
        return replace(self, spec=spec)


@dataclass(frozen=True)
class Prepared:
    """The task's reading of the config and the source, before anything is written."""

    cfg: "ExportConfig"  # as the task reads it (a task may pick a converter its graphs need)
    graphs: dict[str, Graph]
    targets: dict[str, Any]
    state: Any = None  # the task's own data (datasets, tokenizer, sentence pairs, ...)
    # per target, everything the export reads, known before capture: lets an unchanged re-export
    # stop before capture. None: the task cannot tell (e.g. it trains first), always rebuild.
    source_fingerprints: dict[str, str] | None = None
    seconds: dict[str, float] = field(default_factory=dict)  # stages the task timed itself (e.g. compress)

    @property
    def single(self) -> bool:
        return list(self.graphs) == [SINGLE]


@dataclass(frozen=True)
class Converted:
    """What the target workers made, per graph, and what the previous bundle gave unchanged."""

    results: dict[str, list["WorkerResult"]]  # graph → one result per target converted now
    cached: dict[str, list[dict]] = field(default_factory=dict)  # target → reused manifest entries
    fingerprints: dict[str, str] | None = None  # target → what its artifacts were made from
    calibration: Path | None = None
    variant_order: dict[str, list[str]] = field(default_factory=dict)  # target → its variants' order, where some were kept
    early: Any = None  # what the task's `early_checks` returned, judged while other targets converted


@dataclass(frozen=True)
class Judged:
    """Manifest entries, in the order the bundle lists them, and what the checks add to the manifest."""

    entries: list[dict]
    facts: dict = field(default_factory=dict)


class Task(Protocol):
    name: str
    tensor_golden: bool  # its golden vectors are single-graph tensors (`mobilekit debug`/`bench` read them)

    def prepare(self, cfg: "ExportConfig", model: Any, example_inputs: Any, progress: "Progress") -> Prepared: ...

    def references(self, prep: Prepared, captured: dict[str, "Captured"], progress: "Progress") -> Any: ...

    def calibration(self, prep: Prepared, work: Path) -> Path | None: ...

    def fingerprints(self, prep: Prepared, captured: dict[str, "Captured"], refs: Any) -> dict[str, str] | None: ...

    def judge(self, prep: Prepared, refs: Any, converted: Converted, captured: dict[str, "Captured"], bundle_dir: Path,
              work: Path, progress: "Progress") -> Judged: ...

    # Optional: `early_checks(prep, refs, captured, bundle_dir, calibration, progress)` returns an object whose
    # `check(result)` the pipeline calls on each target's worker result as soon as it is in, while
    # the other targets still convert (on 2 cores verification then overlaps conversion); it
    # comes back to `judge` as `converted.early`. A task without it is judged after conversion.

    def write_assets(self, prep: Prepared, refs: Any, root: Path) -> None: ...

    def manifest(self, prep: Prepared, refs: Any, judged: Judged) -> dict: ...

    def reverify(self, bundle: "Bundle", progress: "Progress") -> dict: ...
