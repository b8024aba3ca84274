"""Running an exported graph with onnxruntime: checking it against PyTorch, and timing it."""
import os
import tempfile
from typing import Callable, Dict, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn

from .graph import Exportable, export_onnx


def create_session(path: str, threads: Optional[int] = None):
    """An onnxruntime CPU session of the ONNX file ``path``; ``threads``: intra-op threads."""
    import onnxruntime as ort
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])


def max_abs_differences(exportable: Exportable, session, size: Tuple[int, int],
                        batch: int = 1) -> Dict[str, float]:
    """Max absolute difference between onnxruntime and PyTorch, per output, on a random input.

    PyTorch runs the model as it normally computes (channels-last for a
    SwiftFormer).

    Raises:
        RuntimeError: an output's shape differs between the two.
    """
    inputs = exportable.sample(batch, size)
    with torch.no_grad():
        expected = exportable.model(inputs)
    expected = (expected, ) if isinstance(expected, torch.Tensor) else expected
    actual = session.run(None, {exportable.input_name: inputs.numpy()})
    differences = {}
    for name, want, got in zip(exportable.output_axes, expected, actual):
        if got.shape != tuple(want.shape):
            raise RuntimeError(f'{name} at {size[0]}x{size[1]}: shape {got.shape} from onnxruntime, '
                               f'{tuple(want.shape)} from PyTorch')
        differences[name] = float(np.abs(got - want.numpy()).max())
    return differences


def onnxruntime_forward(model: nn.Module, size: Tuple[int, int], threads: Optional[int] = None,
                        batches: Tuple[int, ...] = (1, )) -> Dict[int, Callable[[], list]]:
    """Exports ``model`` (eval mode, an image batch in, tensors out) once and returns, for each
    batch size in ``batches``, a function that runs one inference at ``size`` (H, W) with
    onnxruntime, for timing.

    ``threads`` sets onnxruntime's intra-op threads (default: its own choice,
    one per physical core).
    """
    exportable = Exportable(model, 'input', {}, lambda batch, hw: torch.randn(batch, 3, *hw))
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, 'model.onnx')
        export_onnx(exportable, path, size)
        session = create_session(path, threads)  # reads the whole file; it may go
    feeds = {batch: {'input': exportable.sample(batch, size).numpy()} for batch in batches}
    return {batch: (lambda feed=feed: session.run(None, feed)) for batch, feed in feeds.items()}
