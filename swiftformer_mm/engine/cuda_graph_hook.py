"""``tools/test.py --cuda-graphs``: the backbone and neck of the tested model replayed as CUDA graphs."""
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from ..ops.cuda_graphs import replay_features
from .runner_model import runner_model


@HOOKS.register_module()
class CudaGraphHook(Hook):
    """Before testing, runs :func:`~swiftformer_mm.ops.cuda_graphs.replay_features` on the model.

    It runs after :class:`SwitchToDeployHook`, so a ``--deploy`` model is captured in its
    deploy form. On a CPU it leaves the model as it is, with a warning.

    Args:
        max_shapes (int): Input shapes to keep graphs for (see ``GraphedForward``).
    """

    priority = 'LOW'

    def __init__(self, max_shapes: int = 8):
        self.max_shapes = max_shapes

    def before_test(self, runner) -> None:
        replay_features(runner_model(runner), self.max_shapes)
