"""Tracing a model into an ONNX file with dynamic batch, height and width.

The TorchScript exporter (``dynamo=False``) is used: torch>=2.9's default,
the dynamo exporter, needs the ``onnxscript`` package, which the stack does
not install. A traced SwiftFormer runs its plain NCHW ops: the deploy form's
CPU kernels (a chunked loop writing into slices) step aside while tracing
(see :func:`swiftformer_mm.ops.cpu_kernels.applies`).
"""
import io
import warnings
from dataclasses import dataclass
from typing import Callable, Dict, Tuple

import torch
import torch.nn as nn

from ..engine import write_atomically

OPSET = 17
# the axes of an image batch that stay free in the graph
IMAGE_AXES = {0: 'batch', 2: 'height', 3: 'width'}


@dataclass
class Exportable:
    """A model in eval mode that maps one image batch to tensors, and how to name its graph.

    Attributes:
        model (nn.Module): Takes a (B, 3, H, W) float tensor, returns a
            tensor or a tuple of tensors.
        input_name (str): The graph's input.
        output_axes (dict): Output name -> its dynamic axes, in output order.
        sample (callable): ``sample(batch, (H, W))`` -> a random valid input.
    """
    model: nn.Module
    input_name: str
    output_axes: Dict[str, Dict[int, str]]
    sample: Callable[[int, Tuple[int, int]], torch.Tensor]


def export_onnx(exportable: Exportable, path: str, size: Tuple[int, int], opset: int = OPSET) -> None:
    """Traces ``exportable.model`` on a batch-1 input of ``size`` (H, W) and writes ``path``.

    The graph's batch, height and width are dynamic. The file appears only
    once complete (:func:`~swiftformer_mm.engine.write_atomically`).

    Raises:
        ValueError: a module of the model is in training mode. (The exporter
            traces in eval mode, then sets the top module's mode back, which
            would turn every submodule to that mode.)
    """
    training = [name or 'the model' for name, m in exportable.model.named_modules() if m.training]
    if training:
        raise ValueError(f'export a model in eval mode; call .eval() first ({training[0]} is in '
                         'training mode)')
    graph = io.BytesIO()
    dynamic_axes = {exportable.input_name: IMAGE_AXES, **exportable.output_axes}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings('ignore', message='You are using the legacy TorchScript-based ONNX export',
                                category=DeprecationWarning)
        torch.onnx.export(exportable.model, (exportable.sample(1, size), ), graph, dynamo=False,
                          opset_version=opset, input_names=[exportable.input_name],
                          output_names=list(exportable.output_axes), dynamic_axes=dynamic_axes)
    write_atomically(path, graph.getvalue())
