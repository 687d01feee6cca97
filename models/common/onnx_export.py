"""Export a torch classifier whose output is probabilities as the deployed ONNX graph."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from torch import nn

OPSET = 17


def export_probs(module: nn.Module, path: Path, size: int, n_check: int = 5) -> float:
    """Write ``module`` (NCHW ``input`` → ``probs``, batch dynamic) to ``path`` and return
    the max |onnxruntime − torch| on ``n_check`` random inputs (the caller judges it)."""
    import onnxruntime as ort
    import torch

    module = module.eval()
    torch.onnx.export(
        module,
        (torch.randn(2, 3, size, size),),
        str(path),
        input_names=["input"],
        output_names=["probs"],
        dynamic_axes={"input": {0: "batch"}, "probs": {0: "batch"}},
        opset_version=OPSET,
        dynamo=False,
    )
    xt = torch.randn(n_check, 3, size, size)
    with torch.no_grad():
        ref = module(xt).numpy()
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(["probs"], {"input": xt.numpy()})[0]
    return float(np.abs(got - ref).max())
