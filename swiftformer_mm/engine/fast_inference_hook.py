"""``tools/test.py --compile / --cuda-graphs``: the backbone and neck of the tested model compiled
and/or replayed as CUDA graphs."""
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from ..ops.fast_inference import fast_features
from .runner_model import runner_model


@HOOKS.register_module()
class FastInferenceHook(Hook):
    """Before testing, runs :func:`~swiftformer_mm.ops.fast_inference.fast_features` on the model.

    It runs after :class:`SwitchToDeployHook`, so a ``--deploy`` model is compiled or captured
    in its deploy form.

    Args:
        compile (bool): Compile backbone and neck with ``torch.compile``.
        cuda_graphs (bool): Replay them as CUDA graphs (on a GPU; a warning elsewhere).
        max_shapes (int): Input shapes to compile or capture at most.
    """

    priority = 'LOW'

    def __init__(self, compile: bool = False, cuda_graphs: bool = False, max_shapes: int = 8):
        self.compile = compile
        self.cuda_graphs = cuda_graphs
        self.max_shapes = max_shapes

    def before_test(self, runner) -> None:
        fast_features(runner_model(runner), self.compile, self.cuda_graphs, self.max_shapes)
