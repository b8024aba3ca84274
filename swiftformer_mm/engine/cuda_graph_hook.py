"""``tools/test.py --cuda-graphs``: the backbone and neck of the tested model replayed as CUDA graphs."""
import logging

import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from ..ops.cuda_graphs import GraphedForward


@HOOKS.register_module()
class CudaGraphHook(Hook):
    """Before testing on a GPU, wraps the model's backbone and neck in one :class:`GraphedForward`.

    mmdet's and mmseg's ``extract_feat`` call ``backbone`` then ``neck``; the hook makes
    ``backbone`` run both (replayed per input shape) and ``neck`` pass the maps through. The
    heads and the post-processing stay eager. It runs after :class:`SwitchToDeployHook`, so a
    ``--deploy`` model is captured in its deploy form. On a CPU it leaves the model as it is.

    Args:
        max_shapes (int): Input shapes to keep graphs for; see :class:`GraphedForward`.
    """

    priority = 'LOW'

    def __init__(self, max_shapes: int = 8):
        self.max_shapes = max_shapes

    def before_test(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if next(model.parameters()).device.type != 'cuda':
            print_log('--cuda-graphs: the model is not on a CUDA device; it runs eagerly', logger='current',
                      level=logging.WARNING)
            return
        features = nn.Sequential(model.backbone, model.neck) if getattr(model, 'neck', None) else model.backbone
        model.backbone = GraphedForward(features.eval(), self.max_shapes)
        if getattr(model, 'neck', None) is not None:
            model.neck = nn.Identity()
