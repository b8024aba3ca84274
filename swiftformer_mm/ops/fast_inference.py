"""The fast inference mode of whole detectors and segmentors: backbone and neck as one module,
compiled (:class:`~.compiled.CompiledForward`) and/or replayed as CUDA graphs
(:class:`~.cuda_graphs.GraphedForward`), one per input shape; heads and post-processing stay eager.

``tools/test.py --compile --cuda-graphs``, ``tools/visualize.py`` (the same flags) and
``apis.init_model(compile=..., cuda_graphs=...)`` all come here.
"""
import logging

import torch.nn as nn
from mmengine.logging import print_log

from .compiled import CompiledForward
from .cuda_graphs import GraphedForward


def fast_features(model: nn.Module, compile: bool = False, cuda_graphs: bool = False, max_shapes: int = 8) -> bool:
    """Makes an mmdet detector's or mmseg segmentor's ``backbone`` run backbone and neck as one
    module, compiled and/or replayed as CUDA graphs, and its ``neck`` pass the maps through (their
    ``extract_feat`` calls ``backbone`` then ``neck``). Call it after loading the weights and after
    ``switch_to_deploy``.

    CUDA graphs need the model on a CUDA device: elsewhere they are left out, with a warning.

    Returns:
        bool: Whether the model was changed.
    """
    if cuda_graphs and next(model.parameters()).device.type != 'cuda':
        print_log('CUDA graphs: the model is not on a CUDA device; its backbone and neck are not replayed as graphs',
                  logger='current', level=logging.WARNING)
        cuda_graphs = False
    if not (compile or cuda_graphs):
        return False
    neck = getattr(model, 'neck', None)
    features = (nn.Sequential(model.backbone, neck) if neck is not None else model.backbone).eval()
    if compile:
        features = CompiledForward(features, max_shapes)
    if cuda_graphs:
        features = GraphedForward(features, max_shapes)
    model.backbone = features
    if neck is not None:
        model.neck = nn.Identity()
    how = ' and '.join(word for word, asked in (('compiled (torch.compile)', compile),
                                                 ('replayed as CUDA graphs', cuda_graphs)) if asked)
    print_log(f'fast inference: backbone{" and neck" if neck is not None else ""} {how}, once per input shape '
              f'(at most {max_shapes} shapes)', logger='current')
    return True
