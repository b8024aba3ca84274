"""A module's inference forward compiled by ``torch.compile`` (Inductor), one compilation per input shape.

On an H100 (issue 13, measured by the session that filed it) ``torch.compile`` took the plain
SwiftFormer-L1 code from 13.0 to 5.4 ms at batch 16, 512x512, fp16: Inductor fuses the
element-wise work around the convolutions (bias, GELU, residual sums, the attention's
normalisations) that eager mode runs as separate kernels. At batch 1 launches dominate instead;
:class:`~.cuda_graphs.GraphedForward` around a :class:`CompiledForward` replays the compiled
kernels as CUDA graphs (``torch.compile(mode='reduce-overhead')`` of the plain code: 1.74 ms at
800x1216 fp16, against 11.3 ms eager).

Shapes are compiled statically (``dynamic=False``), each at its first call; at most
``max_shapes`` of them, after which new shapes run the module eagerly, with one log line. It is
meant for CUDA, though it runs anywhere ``torch.compile`` does: on the 2-core development CPU the
L1 deploy form with an FPN neck ran 1.03-1.16x faster compiled (docs/benchmark.md).
"""
import torch
import torch._dynamo
import torch.nn as nn

from .inference_only import ops_only_run
from .shape_budget import ShapeBudget


def _own_code(function):
    """``function`` with a code object of its own. Dynamo keeps compilations, and counts them
    against its recompile limit, per code object: every lambda made by the same line shares one, so
    each :class:`CompiledForward` would draw on the others' budget (and keep their dead entries)."""
    function.__code__ = function.__code__.replace()
    return function


class CompiledForward(nn.Module):
    """``module``'s forward compiled by ``torch.compile`` where nothing records its ops
    (:func:`~.inference_only.ops_only_run`; see the module docstring).

    Args:
        module (nn.Module): In eval mode; its forward takes one tensor.
        max_shapes (int): Compilations kept at most (one per input shape, dtype, device and
            autocast state); at most ``torch._dynamo.config.recompile_limit``, beyond which
            ``torch.compile`` itself would fall back to eager without saying so here.
    """

    def __init__(self, module: nn.Module, max_shapes: int = 8):
        super().__init__()
        limit = torch._dynamo.config.recompile_limit
        if not 1 <= max_shapes <= limit:
            raise ValueError(f'max_shapes must be between 1 and torch._dynamo.config.recompile_limit ({limit}), '
                             f'got {max_shapes}')
        self.budget = ShapeBudget('CompiledForward', 'compiled', max_shapes)
        self.module = module
        # a plain function, not the module: a compiled module would register its parameters twice
        self.compiled = torch.compile(_own_code(lambda x: module(x)), dynamic=False)

    def forward(self, x: torch.Tensor):
        if ops_only_run() and self.budget.admit(x) is not None:
            return self.compiled(x)
        return self.module(x)
