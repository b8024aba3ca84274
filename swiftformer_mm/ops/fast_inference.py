"""The fast inference mode of whole detectors and segmentors: the part of the model that maps an
image batch to dense maps runs as one module, compiled (:class:`~.compiled.CompiledForward`) and/or
replayed as CUDA graphs (:class:`~.cuda_graphs.GraphedForward`), once per input shape; whatever
depends on the predictions themselves (proposals, RoI heads, NMS, resizing to the image) stays eager.

That part is backbone and neck, and for an mmseg ``EncoderDecoder`` whose decode head predicts as
mmseg's ``BaseDecodeHead`` does (Semantic FPN, UPerNet, ...) also the head's layers: its ``predict``
runs ``forward`` on the features and then resizes the logits, and nothing else reads the features.
It ends at the neck where the head predicts otherwise (MaskFormer, Mask2Former: their heads read the
data samples too), and in two-stage detectors, where the RPN and the RoI head both read the features.

``tools/test.py --compile --cuda-graphs``, ``tools/visualize.py`` (the same flags) and
``apis.init_model(compile=..., cuda_graphs=...)`` all come here.
"""
import logging
import sys
from typing import Callable, Optional

import torch
import torch.nn as nn
from mmengine.logging import print_log

from .compiled import CompiledForward
from .cuda_graphs import GraphedForward


class FeaturesThenHead(nn.Module):
    """``head_layers(features(x))``: a decode head's layers after backbone and neck.

    Args:
        features (nn.Module): Backbone and neck.
        head_layers (callable): The head's own ``forward``, bound to it; held as a function, so
            the head's parameters stay registered under the segmentor alone.
    """

    def __init__(self, features: nn.Module, head_layers: Callable):
        super().__init__()
        self.features = features
        self.head_layers = head_layers

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head_layers(self.features(x))


def decode_head_of(model: nn.Module) -> Optional[nn.Module]:
    """The decode head of an mmseg ``EncoderDecoder`` (not a cascade of heads, where each head
    reads the one before) if it predicts by ``BaseDecodeHead.predict`` (logits from ``forward(features)``,
    then resized), else None."""
    if 'mmseg.models' not in sys.modules:  # an mmseg model has imported it
        return None
    from mmseg.models.decode_heads.decode_head import BaseDecodeHead
    from mmseg.models.segmentors import CascadeEncoderDecoder, EncoderDecoder
    if not isinstance(model, EncoderDecoder) or isinstance(model, CascadeEncoderDecoder):
        return None
    head = model.decode_head
    return head if isinstance(head, BaseDecodeHead) and type(head).predict is BaseDecodeHead.predict else None


def _logits_as_given(logits: torch.Tensor) -> torch.Tensor:
    return logits


def fast_inference(model: nn.Module, compile: bool = False, cuda_graphs: bool = False, max_shapes: int = 8) -> bool:
    """Makes an mmdet detector or mmseg segmentor run its dense part (see the module docstring)
    compiled and/or replayed as CUDA graphs. Call it after loading the weights and after
    ``switch_to_deploy``; the model is for inference from then on.

    How: ``model.backbone`` becomes the one module (their ``extract_feat`` calls ``backbone``
    then ``neck``), ``model.neck`` a pass-through, and a segmentor's ``decode_head.forward`` a
    pass-through of the logits, so that its ``predict`` only resizes them.

    CUDA graphs need the model on a CUDA device: elsewhere they are left out, with a warning.

    Returns:
        bool: Whether the model was changed.

    Raises:
        ValueError: The model already runs in this mode (a second call would wrap it twice).
    """
    if cuda_graphs and next(model.parameters()).device.type != 'cuda':
        print_log('CUDA graphs: the model is not on a CUDA device; it is not replayed as graphs',
                  logger='current', level=logging.WARNING)
        cuda_graphs = False
    if not (compile or cuda_graphs):
        return False
    if isinstance(model.backbone, (CompiledForward, GraphedForward)):
        raise ValueError('the model already runs in the fast inference mode: its backbone is a '
                         f'{type(model.backbone).__name__}; call fast_inference once, with every option it needs')
    neck, head = getattr(model, 'neck', None), decode_head_of(model)
    part = nn.Sequential(model.backbone, neck) if neck is not None else model.backbone
    if head is not None:
        part = FeaturesThenHead(part, type(head).forward.__get__(head))
        head.eval()  # not a submodule of the part, so part.eval() misses it: BatchNorm and dropout as in inference
    part.eval()
    if compile:
        part = CompiledForward(part, max_shapes)
    if cuda_graphs:
        part = GraphedForward(part, max_shapes)
    model.backbone = part
    if neck is not None:
        model.neck = nn.Identity()
    if head is not None:
        head.forward = _logits_as_given
    names = ['backbone'] + ['neck'] * (neck is not None) + ['decode head'] * (head is not None)
    how = _listed([word for word, asked in (('compiled (torch.compile)', compile),
                                             ('replayed as CUDA graphs', cuda_graphs)) if asked])
    print_log(f'fast inference: {_listed(names)} {how}, once per input shape (at most {max_shapes} shapes)',
              logger='current')
    return True


def _listed(words) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return ' and '.join(filter(None, [', '.join(words[:-1]), words[-1]]))
