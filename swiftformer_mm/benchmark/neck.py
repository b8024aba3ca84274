"""``--with-neck``: every row's backbone followed by Mask R-CNN's FPN neck, as one module.

Backbone and neck are the part of a detector or segmentor that the fast inference mode
(``tools/test.py --compile --cuda-graphs``) runs compiled and replayed, so these rows measure
its speed-up there. The neck is mmdet's ``FPN`` as the Mask R-CNN configs set it (256 channels,
5 levels, the fifth a max-pool of the fourth) where mmdet imports, else :class:`PlainFPN`, the
same computation in plain torch (the GPU machine has no mmcv, hence no mmdet).
"""
from typing import Callable, List, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

NeckBuilder = Callable[[Sequence[int]], nn.Module]  # input channels per level -> neck


class PlainFPN(nn.Module):
    """Feature pyramid network (Lin et al., 2017) as mmdet's ``FPN(in_channels, out_channels,
    num_outs=len(in_channels) + 1)`` computes it: a 1x1 lateral conv per level, top-down sums of
    nearest-upsampled coarser laterals, a 3x3 conv per level, and a stride-2 max-pool of the
    coarsest output as one more level."""

    def __init__(self, in_channels: Sequence[int], out_channels: int = 256):
        super().__init__()
        self.lateral_convs = nn.ModuleList(nn.Conv2d(c, out_channels, 1) for c in in_channels)
        self.fpn_convs = nn.ModuleList(nn.Conv2d(out_channels, out_channels, 3, padding=1) for _ in in_channels)

    def forward(self, maps):
        laterals = [conv(m) for conv, m in zip(self.lateral_convs, maps)]
        for i in range(len(laterals) - 1, 0, -1):
            laterals[i - 1] = laterals[i - 1] + F.interpolate(laterals[i], size=laterals[i - 1].shape[2:])
        outs = [conv(lateral) for conv, lateral in zip(self.fpn_convs, laterals)]
        return tuple(outs) + (F.max_pool2d(outs[-1], 1, stride=2), )


def fpn_builder(notes: List[str]) -> NeckBuilder:
    """mmdet's FPN as the Mask R-CNN configs set it where mmdet imports, else :class:`PlainFPN` (noted)."""
    try:
        from mmdet.models.necks import FPN
    except Exception as error:
        notes.append(f'neck: PlainFPN (mmdet does not import: {type(error).__name__}: {error}), the '
                     "computation of mmdet's FPN in the Mask R-CNN configs (256 channels, 5 levels)")
        return PlainFPN
    notes.append("neck: mmdet's FPN (256 channels, 5 levels), as in the Mask R-CNN configs")
    return lambda channels: FPN(list(channels), 256, num_outs=len(channels) + 1)


def with_neck(build: Callable[[], nn.Module], neck: NeckBuilder) -> nn.Module:
    """``build()`` followed by a neck for the channels of its maps, as one ``nn.Sequential`` in eval
    mode (the shape of ``ops.fast_inference.fast_inference``)."""
    backbone = build()
    with torch.no_grad():
        channels = [m.shape[1] for m in backbone(torch.rand(1, 3, 64, 64))]
    return nn.Sequential(backbone, neck(channels)).eval()
