"""Running an exported graph with onnxruntime: checking it against PyTorch, and timing it."""
import importlib
import os
import tempfile
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn

from .graph import Exportable, export_onnx


class OnnxPackageMissingError(ModuleNotFoundError):
    """A package the export or its check needs does not import; the message names the fix."""


def require_onnx_packages(check: bool, skip_check: str = '') -> None:
    """Refuses, before any work, an export whose packages do not import: ``onnx`` (the exporter
    writes the graph through it) and, with ``check``, ``onnxruntime`` (:func:`check_onnx_file`).

    ``skip_check`` (e.g. ``'pass --check-size with no sizes'``) is offered as the other way on
    where only ``onnxruntime`` is missing.

    Raises:
        OnnxPackageMissingError: names the packages and ``pip install -e .[onnx]`` (setup.py's extra).
    """
    missing = []
    for name in ('onnx', 'onnxruntime') if check else ('onnx', ):
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        other = f', or {skip_check} to skip the check' if skip_check and missing == ['onnxruntime'] else ''
        raise OnnxPackageMissingError(f"{' and '.join(missing)} not installed; "
                                      f'install the onnx extra (pip install -e .[onnx]){other}')


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

    PyTorch runs the model as it normally computes (a SwiftFormer's deploy form on
    the CPU: in its channels-last kernels, :mod:`swiftformer_mm.ops.cpu_kernels`).

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


class OnnxMismatchError(RuntimeError):
    """onnxruntime's outputs differ from PyTorch's by more than the tolerance."""


def default_check_sizes(size: Tuple[int, int]) -> List[Tuple[int, int]]:
    """The sizes an export at ``size`` is checked at by default: ``size`` and one of another aspect
    ratio, 64 taller and 32 wider (32 taller and 64 wider where that would keep the ratio: H = 2W)."""
    height, width = size
    return [size, (height + 32, width + 64) if height == 2 * width else (height + 64, width + 32)]


def check_onnx_file(exportable: Exportable, path: str, sizes: Sequence[Tuple[int, int]],
                    tolerance: float) -> Dict[Tuple[int, int], Dict[str, float]]:
    """Runs the ONNX file ``path`` with onnxruntime at each of ``sizes`` (H, W) and compares it with
    ``exportable``'s model in PyTorch, printing each size's largest difference per output as it goes.

    Returns:
        ``{size: {output: max abs difference}}`` (empty, without opening ``path``, for no sizes).

    Raises:
        OnnxMismatchError: a difference above ``tolerance``; the message names the largest, and
            ``path``, which is left in place for inspection.
    """
    if not sizes:
        return {}
    session = create_session(path)
    found = {}
    for size in sizes:
        differences = found[tuple(size)] = max_abs_differences(exportable, session, size)
        shown = ', '.join(f'{name} {value:.2e}' for name, value in differences.items())
        print(f'onnxruntime vs PyTorch at {size[0]}x{size[1]}: max abs difference {shown}')
    worst = max(value for differences in found.values() for value in differences.values())
    if worst > tolerance:
        raise OnnxMismatchError(f'onnxruntime differs from PyTorch by {worst:.2e} > {tolerance:g}; '
                                f'{path} is kept for inspection')
    return found


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
