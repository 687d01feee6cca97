"""Export a torch classifier whose output is probabilities as the deployed ONNX graph."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from torch import nn

OPSET = 17


def export_probs(
    module: nn.Module, path: Path, size: int, n_check: int = 5, fp16_weights: bool = False
) -> float:
    """Write ``module`` (NCHW ``input`` → ``probs``, batch dynamic) to ``path`` and return
    the max |onnxruntime − torch| on ``n_check`` random inputs (the caller judges it).

    ``fp16_weights`` stores the weights as float16 (half the file; see ``store_fp16``).
    """
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
    if fp16_weights:
        store_fp16(path)
    xt = torch.randn(n_check, 3, size, size)
    with torch.no_grad():
        ref = module(xt).numpy()
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(["probs"], {"input": xt.numpy()})[0]
    return float(np.abs(got - ref).max())


def store_fp16(path: Path, min_size: int = 16) -> None:
    """Store the float weights of the ONNX file at ``path`` as float16, each behind a Cast.

    The arithmetic stays float32: onnxruntime folds every Cast of a constant into a float32
    weight when it builds the session, so only the file halves and inference costs the
    same. Tensors under ``min_size`` values (scalars, offsets) stay float32.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    casts, keep = [], []
    for init in graph.initializer:
        if init.data_type != TensorProto.FLOAT or int(np.prod(init.dims)) < min_size:
            keep.append(init)
            continue
        half = numpy_helper.from_array(
            numpy_helper.to_array(init).astype(np.float16), f"{init.name}__fp16"
        )
        keep.append(half)
        casts.append(
            helper.make_node(
                "Cast", [half.name], [init.name], name=f"{init.name}__cast", to=TensorProto.FLOAT
            )
        )
    del graph.initializer[:]
    graph.initializer.extend(keep)
    nodes = casts + list(graph.node)  # the casts first keeps the nodes in topological order
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
