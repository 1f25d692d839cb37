"""Running `.pte` programs on this host: verification runners, bench sessions, structure checks.

XNNPACK programs run in `executorch.runtime` (the wheel's portable + XNNPACK kernels). A Core
ML delegate cannot run off Apple platforms; its payload is a Core ML program (an `.mlpackage`
flattened by ExecuTorch's Core ML backend), so when the whole forward method is that one
delegate, the package is extracted and run in mobilekit's reference interpreter
(`verify/coreml_interp`, fp16 simulated per op). Anything else is `Unverifiable`, with why.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from ..base import ArtifactRecord, TimedSession, Unverifiable, package_version

_MAGIC = b"ET"  # bytes 4..6 of every .pte (file identifier "ET12" in this schema)


def _threads(n: int) -> None:
    """XNNPACK's thread pool is process-wide in the Python runtime."""
    from executorch.extension.pybindings import portable_lib

    if portable_lib._threadpool_get_thread_count() != n:  # noqa: SLF001 - the only API there is
        portable_lib._unsafe_reset_threadpool(n)  # noqa: SLF001


def init_runtime(threads: int) -> None:
    from executorch.runtime import Runtime

    Runtime.get()
    _threads(threads)


def _forward(path: Path, threads: int):
    from executorch.runtime import Runtime

    _threads(threads)
    program = Runtime.get().load_program(str(path))
    method = program.load_method("forward")
    return program, method


def _args(record: ArtifactRecord, feeds: dict[str, np.ndarray]) -> list:
    import torch

    # a fresh C-order copy: numpy may give size-1 dims any stride, which ExecuTorch refuses
    return [torch.from_numpy(np.array(feeds[t.name], dtype=t.dtype, order="C", copy=True)) for t in record.inputs]


def runner(record: ArtifactRecord, bundle_dir: Path, threads: int = 2):
    path = bundle_dir / record.path
    if record.details.get("backend") == "CoreMLBackend":
        return _coreml_runner(record, path)
    program, method = _forward(path, threads)
    names = [t.name for t in record.outputs]

    def run(feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        outs = method.execute(_args(record, feeds))
        return {n: o.numpy() for n, o in zip(names, outs)}

    run.program_handle = (program, method)  # type: ignore[attr-defined]  # keep both alive
    run.runtime = f"executorch {package_version('executorch')} (XNNPACK, {threads} threads)"  # type: ignore[attr-defined]
    run.compute = _compute(record)  # type: ignore[attr-defined]
    return run


def _compute(record: ArtifactRecord) -> str:
    if record.variant == "fp16":
        # XNNPACK's x86 fp16 kernels keep tensors in fp16 between ops but do the arithmetic in
        # fp32 (F16C conversions); ARM devices with native fp16 arithmetic round more often.
        return "fp16 tensors between ops (x86 XNNPACK kernels compute each op in fp32)"
    return "int8" if record.precision == "int8" else "fp32"


def timed_session(record: ArtifactRecord, bundle_dir: Path, samples: list[dict], threads: int) -> TimedSession:
    if record.details.get("backend") == "CoreMLBackend":
        raise Unverifiable("a Core ML delegate runs only on Apple devices (use the iOS harness in harness/ios/)")
    init_runtime(threads)  # normally done already by the bench (Target.bench_init)
    t = time.perf_counter()
    _program, method = _forward(bundle_dir / record.path, threads)
    load_ms = (time.perf_counter() - t) * 1e3
    feeds = [_args(record, s) for s in samples]
    session = TimedSession(call=lambda i: method.execute(feeds[i % len(feeds)]),
                           runtime_version=package_version("executorch") or "?", load_ms=load_ms,
                           delegate="xnnpack",
                           notes=[f"executorch.runtime Method.execute, XNNPACK thread pool of {threads}",
                                  (record.details.get("delegation") or {}).get("summary", "")])
    session.notes = [n for n in session.notes if n]
    session.handle = _program  # the method needs its program alive
    return session


def check_program(record: ArtifactRecord, bundle_dir: Path) -> dict:
    """Cheap facts without a runtime: the file is a .pte, and which methods it has."""
    from ...errors import CheckError

    path = bundle_dir / record.path
    head = path.read_bytes()[:8]
    if head[4:6] != _MAGIC:
        raise CheckError(f"{record.path} is not an ExecuTorch program (file identifier {head[4:8]!r})")
    facts = {"file_identifier": head[4:8].decode("ascii", "replace")}
    try:
        from executorch.runtime import Runtime
    except ImportError:
        return facts
    methods = sorted(Runtime.get().load_program(str(path)).method_names)
    if "forward" not in methods:
        raise CheckError(f"{record.path} has no `forward` method (it has {methods})")
    missing = [m for m in record.details.get("constant_methods", []) if m not in methods]
    if missing:
        raise CheckError(f"{record.path} lacks the metadata method(s) {', '.join(missing)}")
    facts["methods"] = methods
    return facts


# -- the Core ML delegate ---------------------------------------------------------------------------

def coreml_payload(path: Path, into: Path) -> Path:
    """Extract the Core ML delegate of `forward` into `into`; the `.mlpackage` path.

    Raises Unverifiable when the program is not one Core ML delegate and nothing else: the
    reference interpreter runs Core ML programs, not ExecuTorch's portable kernels.
    """
    from executorch.exir._serialize._program import deserialize_pte_binary
    from executorch.exir.schema import DelegateCall, KernelCall

    pte = deserialize_pte_binary(path.read_bytes()).program
    plan = next((p for p in pte.execution_plan if p.name == "forward"), None)
    if plan is None:
        raise Unverifiable(f"{path.name} has no forward method")
    kinds = [type(i.instr_args) for c in plan.chains for i in c.instructions]
    kernels = sum(k is KernelCall for k in kinds)
    coreml = [d for d in plan.delegates if d.id == "CoreMLBackend"]
    if len(coreml) != 1 or len(plan.delegates) != 1 or kernels or sum(k is DelegateCall for k in kinds) != 1:
        raise Unverifiable(f"the program is not one Core ML delegate alone ({len(plan.delegates)} delegate(s), "
                           f"{kernels} portable kernel call(s)); the reference interpreter runs only Core ML programs")
    loc = coreml[0].processed
    if loc.location.name != "INLINE":
        raise Unverifiable(f"the Core ML payload is stored as {loc.location.name}; only inline payloads are read here")
    payload = bytes(pte.backend_delegate_data[loc.index].data)
    from ..coreml import _coremltools

    _coremltools()  # the backend's extension module imports coremltools: quietly
    from executorch.backends.apple.coreml import executorchcoreml

    if not executorchcoreml.unflatten_directory_contents(payload, str(into)):
        raise Unverifiable("ExecuTorch's Core ML backend could not unpack the delegate payload")
    found = sorted(into.rglob("*.mlpackage"))
    if not found:
        raise Unverifiable("the Core ML delegate payload holds no .mlpackage (a compiled .mlmodelc cannot be read here)")
    return found[0]


def _coreml_runner(record: ArtifactRecord, path: Path):
    import json
    import sys

    if sys.platform == "darwin":  # pragma: no cover - would need the ExecuTorch Core ML runtime
        raise Unverifiable("the ExecuTorch Python wheel has no Core ML runtime; use the iOS harness")
    from ...verify.coreml_interp import VERIFIED_BY, load, run_program

    tmp = tempfile.TemporaryDirectory(prefix="mobilekit-et-coreml-")
    package = coreml_payload(path, Path(tmp.name))
    program, _spec = load(package)  # raises UnsupportedOp (an Unverifiable) for an op it does not know
    meta_file = package.parent / "metadata.json"
    meta = json.loads(meta_file.read_text()) if meta_file.exists() else {}
    in_names = meta.get("inputNames") or list(program.inputs)
    out_names = meta.get("outputNames") or list(program.outputs)
    if len(in_names) != len(record.inputs) or len(out_names) != len(record.outputs):
        raise Unverifiable(f"the Core ML delegate takes {len(in_names)} inputs / gives {len(out_names)} outputs, "
                           f"the model {len(record.inputs)} / {len(record.outputs)}")

    # The delegate names its inputs after the graph's placeholders, in its own order (a decoder
    # step's came out position, token, source_bias, …): match by name; positions only when the
    # names are not the model's.
    by_name = {t.name for t in record.inputs} == set(in_names)
    pairs = [(t.name, t) for t in record.inputs] if by_name else list(zip(in_names, record.inputs))

    def native_feeds(feeds: dict) -> dict:
        return {n: np.asarray(feeds[t.name]).astype(np.float32 if t.dtype.startswith("float") else np.int32) for n, t in pairs}

    def run(feeds: dict) -> dict:
        result = run_program(program, native_feeds(feeds), fp16=True)
        return {t.name: np.asarray(result[n], dtype=np.float32) for t, n in zip(record.outputs, out_names)}

    run.tmp = tmp  # type: ignore[attr-defined]  # the extracted package lives as long as the runner
    run.program = program  # type: ignore[attr-defined]  # for the pipeline's divergence locator
    run.native_feeds = native_feeds  # type: ignore[attr-defined]
    run.runtime = f"{VERIFIED_BY} (the Core ML program inside the .pte's delegate)"  # type: ignore[attr-defined]
    run.reference_interpreter = True  # type: ignore[attr-defined]  # its latency says nothing about a device
    run.compute = "fp16 (simulated per op)" if program.computes_in_fp16 else "fp32"  # type: ignore[attr-defined]
    return run
