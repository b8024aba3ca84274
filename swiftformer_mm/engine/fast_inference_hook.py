"""``tools/test.py --compile / --cuda-graphs``: the dense part of the tested model (backbone, neck and a
segmentor's decode head) compiled and/or replayed as CUDA graphs."""
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from ..ops.fast_inference import fast_inference
from .runner_model import runner_model


@HOOKS.register_module()
class FastInferenceHook(Hook):
    """Before testing, runs :func:`~swiftformer_mm.ops.fast_inference.fast_inference` on the model.

    It runs after :class:`SwitchToDeployHook`, so a ``--deploy`` model is compiled or captured
    in its deploy form.

    Args:
        compile (bool): Compile the dense part with ``torch.compile``.
        cuda_graphs (bool): Replay it as CUDA graphs (on a GPU; a warning elsewhere).
        max_shapes (int): Input shapes to compile or capture at most.
    """

    priority = 'LOW'

    def __init__(self, compile: bool = False, cuda_graphs: bool = False, max_shapes: int = 8):
        self.compile = compile
        self.cuda_graphs = cuda_graphs
        self.max_shapes = max_shapes

    def before_test(self, runner) -> None:
        fast_inference(runner_model(runner), self.compile, self.cuda_graphs, self.max_shapes)
