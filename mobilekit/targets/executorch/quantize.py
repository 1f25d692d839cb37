"""int8 for XNNPACK: PT2E static quantization with ExecuTorch's XNNPACKQuantizer.

Symmetric int8, weights per output channel, activations per tensor, calibrated on the
pipeline's calibration inputs (`calibration.data`, preprocessed NCHW). torch 2.13 has no
torch.ao PT2E: prepare/convert come from torchao (CONVERTER-NOTES).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import UserError


def load_calibration(path: str | None, spec: dict, limit: int) -> dict[str, np.ndarray]:
    if not path:
        raise UserError("executorch: the \"int8\" variant needs calibration data: `calibration.data` is not set",
                        hint="Set `calibration.data` (100–500 preprocessed training samples).")
    data = np.load(path)
    out = {}
    for t in spec["inputs"]:
        if t["name"] not in data:
            raise UserError(f"executorch: calibration data has no input {t['name']!r}", hint="Give one array per model input.")
        a = np.asarray(data[t["name"]])
        if list(a.shape[1:]) != list(t["shape"][1:]):
            raise UserError(f"executorch: calibration data for {t['name']!r} has shape {list(a.shape)}, "
                            f"expected [N, {', '.join(map(str, t['shape'][1:]))}]",
                            hint="Give preprocessed inputs in the model's NCHW shape.")
        out[t["name"]] = a[:limit].astype(t["dtype"])
    n = {len(a) for a in out.values()}
    if len(n) != 1 or 0 in n:
        raise UserError(f"executorch: calibration arrays have different or zero lengths ({sorted(n)})",
                        hint="Give the same number of samples for every input.")
    return out


def int8_program(program_path: Path, spec: dict, cal: dict[str, np.ndarray], keep_float: list[str] | tuple = ()):
    """(the quantized ExportedProgram, calibration samples used). `keep_float`: capture node names
    or module names (`features.0`: every node under it) the quantizer leaves unannotated — float,
    run by XNNPACK's float kernels; an unknown name is a UserError."""
    import torch
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
        XNNPACKQuantizer,
        get_symmetric_quantization_config,
    )
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    ep = torch.export.load(str(program_path))
    example = tuple(torch.zeros(t["shape"], dtype=getattr(torch, t["dtype"])) for t in spec["inputs"])
    quantizer = XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True))
    module = ep.module()
    if keep_float:
        from ..base import resolve_keep_float

        floats = set(resolve_keep_float(module.graph, keep_float))
        # the quantizer skips a pattern (conv-bn-relu, linear, ...) if any node in it is filtered out
        quantizer.set_filter_function(lambda n: n.name not in floats)
    graph = prepare_pt2e(module, quantizer)
    batch = spec["inputs"][0]["shape"][0]
    n_samples = len(next(iter(cal.values())))
    used = 0
    with torch.no_grad():
        for i in range(0, n_samples - batch + 1, batch):
            graph(*[torch.from_numpy(np.ascontiguousarray(cal[t["name"]][i: i + batch])) for t in spec["inputs"]])
            used += 1
    graph = convert_pt2e(graph)
    return torch.export.export(graph, example, strict=False), used
