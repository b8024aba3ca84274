"""The one condition under which an inference form may take its own path."""
import torch


def ops_only_run() -> bool:
    """Whether the ops about to run are only executed: no autograd recording, no TorchScript
    trace, ``torch.compile`` or ONNX export, each of which needs the model's own ops as they are
    (a compiled, replayed or chunked path would hide them)."""
    return (not torch.is_grad_enabled() and not torch.jit.is_tracing() and not torch.compiler.is_compiling()
            and not torch.onnx.is_in_onnx_export())
