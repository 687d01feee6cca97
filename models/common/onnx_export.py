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


def quantize_int8(
    path: Path, calibration: np.ndarray, keep_float: tuple[str, ...] = (), batch: int = 32
) -> None:
    """Rewrite the float32 ONNX graph at ``path`` as a static int8 graph (in place).

    QDQ format, per-channel int8 weights, uint8 activations whose ranges are the min/max
    over ``calibration`` (NCHW float32 model inputs: training photos, never test ones).
    Every op onnxruntime can quantise is quantised up to the last linear layers: with
    avx512-vnni the convolutions run about twice as fast, while quantising the convolutions
    alone adds a Q/DQ pair around each and is slower than float32 (measured for the
    strawberry grader, session 6). The tail after them (averaging, offsets, softmax) stays
    float32, or the probabilities would come out in steps of 1/255. Nodes whose names
    contain one of ``keep_float`` stay float32 too.
    """
    import tempfile

    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Batches(CalibrationDataReader):
        def __init__(self) -> None:
            self.it = iter(
                [{"input": calibration[i : i + batch]} for i in range(0, len(calibration), batch)]
            )

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.it, None)

    with tempfile.TemporaryDirectory() as tmp:
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(path), str(pre))
        quantize_static(
            str(pre),
            str(path),
            Batches(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
            nodes_to_exclude=_kept_float(pre, keep_float),
        )


def _kept_float(path: Path, keep_float: tuple[str, ...]) -> list[str]:
    """Names of the nodes to leave float32: those between the last Gemm/MatMul layers and
    the graph's outputs, then those whose name contains one of ``keep_float``."""
    import onnx

    graph = onnx.load(str(path)).graph
    producer = {out: n for n in graph.node for out in n.output}
    tail: dict[str, None] = {}
    todo = [o.name for o in graph.output]
    while todo:
        node = producer.get(todo.pop())
        if node is None or node.name in tail or node.op_type in ("Gemm", "MatMul"):
            continue
        tail[node.name] = None
        todo.extend(node.input)
    named = [n.name for n in graph.node if any(p in n.name for p in keep_float)]
    return list(tail) + named
