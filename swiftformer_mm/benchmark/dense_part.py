"""``--with-neck``: every row's backbone followed by the neck (and, for Semantic FPN, the decode head)
of a paper config, as one module.

That is the part of a detector or segmentor that the fast inference mode (``tools/test.py
--compile --cuda-graphs``, :mod:`swiftformer_mm.ops.fast_inference`) runs compiled and replayed,
so these rows measure its speed-up there:

- ``maskrcnn``: the FPN neck of the Mask R-CNN configs (256 channels, 5 levels, the fifth a
  max-pool of the fourth), mmdet's ``FPN`` where mmdet imports;
- ``semantic-fpn``: the FPN neck (256 channels, 4 levels) and the ``FPNHead`` (128 channels,
  150 classes) of the ADE20K configs, mmseg's where mmseg imports.

Where the library does not import (the GPU machine has no mmcv, hence no mmdet or mmseg), the
same computation in plain torch: :class:`PlainFPN`, :class:`PlainFPNHead`.
"""
import math
from typing import Callable, List, NamedTuple, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.registry import DefaultScope


class DensePart(NamedTuple):
    """What follows each backbone: ``name`` for the rows, ``build`` from the backbone's channels."""
    name: str
    build: Callable[[Sequence[int]], nn.Module]


class PlainFPN(nn.Module):
    """Feature pyramid network (Lin et al., 2017) as mmdet's and mmseg's ``FPN(in_channels,
    out_channels, num_outs)`` compute it with ``num_outs`` one more than the inputs (``extra_level``)
    or equal to them: a 1x1 lateral conv per level, top-down sums of nearest-upsampled coarser
    laterals, a 3x3 conv per level, and, as the extra level, a stride-2 max-pool of the coarsest output."""

    def __init__(self, in_channels: Sequence[int], out_channels: int = 256, extra_level: bool = True):
        super().__init__()
        self.lateral_convs = nn.ModuleList(nn.Conv2d(c, out_channels, 1) for c in in_channels)
        self.fpn_convs = nn.ModuleList(nn.Conv2d(out_channels, out_channels, 3, padding=1) for _ in in_channels)
        self.extra_level = extra_level

    def forward(self, maps):
        laterals = [conv(m) for conv, m in zip(self.lateral_convs, maps)]
        for i in range(len(laterals) - 1, 0, -1):
            laterals[i - 1] = laterals[i - 1] + F.interpolate(laterals[i], size=laterals[i - 1].shape[2:])
        outs = tuple(conv(lateral) for conv, lateral in zip(self.fpn_convs, laterals))
        return outs + (F.max_pool2d(outs[-1], 1, stride=2), ) if self.extra_level else outs


def _conv_bn_relu(in_channels: int, out_channels: int) -> List[nn.Module]:
    return [nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False), nn.BatchNorm2d(out_channels), nn.ReLU()]


class PlainFPNHead(nn.Module):
    """Semantic FPN's decode head (Kirillov et al., 2019) as mmseg's ``FPNHead`` computes it: on each
    level, (3x3 conv, BN, ReLU, 2x bilinear upsampling) until stride ``strides[0]`` (one conv
    without upsampling there), the levels summed, then channel dropout and a 1x1 conv to the classes."""

    def __init__(self, in_channels: int = 256, channels: int = 128, num_classes: int = 150,
                 strides: Sequence[int] = (4, 8, 16, 32)):
        super().__init__()
        self.scale_heads = nn.ModuleList()
        for stride in strides:
            layers = []
            for step in range(max(1, int(math.log2(stride / strides[0])))):
                layers += _conv_bn_relu(in_channels if step == 0 else channels, channels)
                if stride != strides[0]:
                    layers.append(nn.Upsample(scale_factor=2, mode='bilinear', align_corners=False))
            self.scale_heads.append(nn.Sequential(*layers))
        self.dropout = nn.Dropout2d(0.1)
        self.classifier = nn.Conv2d(channels, num_classes, 1)

    def forward(self, maps) -> torch.Tensor:
        out = self.scale_heads[0](maps[0])
        for head, m in zip(self.scale_heads[1:], maps[1:]):
            out = out + F.interpolate(head(m), size=out.shape[2:], mode='bilinear', align_corners=False)
        return self.classifier(self.dropout(out))


def _maskrcnn_fpn(notes: List[str]) -> DensePart:
    try:
        from mmdet.models.necks import FPN
    except Exception as error:
        notes.append(f'neck: PlainFPN (mmdet does not import: {type(error).__name__}: {error}), the '
                     "computation of mmdet's FPN in the Mask R-CNN configs (256 channels, 5 levels)")
        return DensePart('FPN', PlainFPN)
    notes.append("neck: mmdet's FPN (256 channels, 5 levels), as in the Mask R-CNN configs")
    return DensePart('FPN', lambda channels: FPN(list(channels), 256, num_outs=len(channels) + 1))


def _semantic_fpn(notes: List[str]) -> DensePart:
    try:
        from mmseg.models.decode_heads import FPNHead
        from mmseg.models.necks import FPN
    except Exception as error:
        notes.append(f'neck and head: PlainFPN and PlainFPNHead (mmseg does not import: {type(error).__name__}: '
                     f"{error}), the computation of mmseg's FPN and FPNHead in the ADE20K configs (256 and 128 "
                     'channels, 150 classes)')
        return DensePart('Semantic FPN', lambda channels: nn.Sequential(PlainFPN(channels, extra_level=False),
                                                                       PlainFPNHead()))
    notes.append("neck and head: mmseg's FPN and FPNHead (256 and 128 channels, 150 classes), as in the ADE20K "
                 'configs')

    def build(channels):
        with DefaultScope.overwrite_default_scope('mmseg'):  # the head builds its loss from mmseg's registry
            head = FPNHead(in_channels=[256] * 4, in_index=[0, 1, 2, 3], feature_strides=[4, 8, 16, 32], channels=128,
                           dropout_ratio=0.1, num_classes=150, norm_cfg=dict(type='BN', requires_grad=True),
                           align_corners=False)
        return nn.Sequential(FPN(list(channels), 256, num_outs=len(channels)), head)
    return DensePart('Semantic FPN', build)


_BUILDERS = {'maskrcnn': _maskrcnn_fpn, 'semantic-fpn': _semantic_fpn}
DENSE_PARTS = tuple(_BUILDERS)  # the choices of --with-neck


def dense_part(kind: str, notes: List[str]) -> DensePart:
    """The neck (and head) of ``kind`` (one of :data:`DENSE_PARTS`), the library's where it imports
    (else the plain one, noted)."""
    return _BUILDERS[kind](notes)


def with_dense_part(build: Callable[[], nn.Module], part: DensePart) -> nn.Module:
    """``build()`` followed by ``part`` for the channels of its maps, as one ``nn.Sequential`` in eval
    mode (the shape of :func:`~swiftformer_mm.ops.fast_inference.fast_inference`'s module)."""
    backbone = build()
    with torch.no_grad():
        channels = [m.shape[1] for m in backbone(torch.rand(1, 3, 64, 64))]
    return nn.Sequential(backbone, part.build(channels)).eval()
