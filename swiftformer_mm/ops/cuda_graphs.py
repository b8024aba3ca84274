"""A module's inference forward replayed as CUDA graphs, one graph per input shape.

At batch 1 every SwiftFormer implementation is launch-bound on a GPU: on an H100 the deploy
form's kernels take about 3.5 ms of a 5-14 ms eager forward (issues 12 and 13), and the same
forward replayed as a CUDA graph took 2.4 ms at 800x1216 fp16. :class:`GraphedForward` wraps a
module (the deploy-form backbone, or a model's dense part: backbone, neck and a segmentor's
decode head) and, on CUDA without autograd, captures its forward once per (shape, dtype,
autocast) and replays it; anything else runs eagerly.

Input shapes vary with keep-ratio resizing, so the graphs are kept for at most ``max_shapes``
shapes (each holds its own input, output and workspace memory); a shape beyond them runs
eagerly, with one log line. Outputs are copied out of the graph's buffers, which the next call
of the same shape overwrites.
"""
from typing import Callable, Tuple

import torch
import torch.nn as nn

from .inference_only import ops_only_run
from .shape_budget import ShapeBudget


def applies(x: torch.Tensor) -> bool:
    """Whether :class:`GraphedForward` replays a graph for ``x``: a CUDA tensor, no autograd
    recording, no trace, compile or ONNX export (those need the ops themselves)."""
    return x.is_cuda and ops_only_run()


def capture(module: nn.Module, sample: torch.Tensor) -> Tuple[torch.Tensor, object, Callable]:
    """Captures ``module(sample)`` as a CUDA graph, after two warm-up calls on a side stream.

    Returns:
        tuple: the graph's input buffer, its outputs (buffers the graph writes) and a
        function that replays it.
    """
    static_input = sample.clone()
    # autocast's cache of weight casts would let the graph read casts made before the capture,
    # freed when the caller's autocast region ends: the graph must make its own casts
    uncached = torch.autocast('cuda', dtype=torch.get_autocast_dtype('cuda'),
                              enabled=torch.is_autocast_enabled('cuda'), cache_enabled=False)
    side = torch.cuda.Stream(device=sample.device)
    side.wait_stream(torch.cuda.current_stream(sample.device))
    with torch.cuda.stream(side), uncached:  # cuDNN picks its algorithms and the allocator warms up
        for _ in range(2):
            module(static_input)
    torch.cuda.current_stream(sample.device).wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph), uncached:
        static_output = module(static_input)
    return static_input, static_output, graph.replay


def _copied(output):
    if isinstance(output, torch.Tensor):
        return output.clone()
    return type(output)(_copied(item) for item in output)


class GraphedForward(nn.Module):
    """``module``'s forward, replayed from CUDA graphs where :func:`applies` (see the module docstring).

    Args:
        module (nn.Module): In eval mode; its forward takes one tensor and returns a tensor or a
            tuple/list of tensors (a backbone's feature maps).
        max_shapes (int): Graphs kept at most (one per input shape, dtype and autocast state).
    """

    def __init__(self, module: nn.Module, max_shapes: int = 8):
        super().__init__()
        self.budget = ShapeBudget('GraphedForward', 'captured', max_shapes)
        self.module = module
        self.graphs = {}  # key -> (input buffer, outputs, replay)

    def forward(self, x: torch.Tensor):
        key = self.budget.admit(x) if applies(x) else None
        if key is None:
            return self.module(x)
        if key not in self.graphs:
            self.graphs[key] = capture(self.module, x)
        static_input, static_output, replay = self.graphs[key]
        static_input.copy_(x)
        replay()
        return _copied(static_output)

