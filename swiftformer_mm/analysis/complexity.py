"""Parameters and multiply-accumulates (MACs) of the SwiftFormer variants.

MACs are counted by MMEngine's ``FlopAnalyzer`` (what
``get_model_complexity_info`` uses): convolutions, linear layers and matrix
products, not element-wise operations (activations, the attention's weighted
sums); the paper's figures count the same way, up to rounding.
"""
from typing import Dict, Iterator, Sequence, Tuple

import torch
import torch.nn as nn

from ..models import SwiftFormer

# GMACs of the ImageNet classifiers at 224x224, the paper's Table 1
PAPER_GMACS = {'xs': 0.6, 's': 1.0, 'l1': 1.6, 'l3': 4.0}


def count_macs(model: nn.Module, inputs: torch.Tensor) -> int:
    """MACs of ``model``'s inference forward (eval mode, no autograd) on ``inputs``."""
    from mmengine.analysis import FlopAnalyzer
    model.eval()  # not chained: mmdet's ResNet.train() returns None
    with torch.no_grad():
        analyzer = FlopAnalyzer(model, inputs=(inputs, ))
        # element-wise ops are not counted by design; the deploy form computes with its layers'
        # weights through functional ops (its CPU kernels, its fused query/key projection), counted
        # at op level, so those layers look "uncalled"
        return analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False).total()


class ClassifierEquivalent(nn.Module):
    """The official ImageNet model: backbone, BN, global average pool, two linear heads."""

    def __init__(self, arch: str, num_classes: int = 1000):
        super().__init__()
        self.backbone = SwiftFormer(arch=arch, out_indices=(3, ), out_norm_cfg=None)
        width = self.backbone.widths[-1]
        self.norm = nn.BatchNorm2d(width)
        self.head = nn.Linear(width, num_classes)
        self.dist_head = nn.Linear(width, num_classes)

    def forward(self, x):
        pooled = self.norm(self.backbone(x)[0]).mean(dim=(2, 3))
        return (self.head(pooled) + self.dist_head(pooled)) / 2


def variant_complexity(arch: str, size: Tuple[int, int]) -> Dict[str, int]:
    """``params`` and ``macs`` of the backbone (with its output norms) at ``size`` (H, W), and
    ``classifier_macs`` of :class:`ClassifierEquivalent` at 224x224."""
    backbone = SwiftFormer(arch=arch)
    return dict(params=sum(p.numel() for p in backbone.parameters()),
                macs=count_macs(backbone, torch.rand(1, 3, *size)),
                classifier_macs=count_macs(ClassifierEquivalent(arch), torch.rand(1, 3, 224, 224)))


def complexity_table(archs: Sequence[str], size: Tuple[int, int]) -> Iterator[str]:
    """The Markdown lines of ``tools/analysis_tools/get_flops.py``'s table, each row once measured."""
    height, width = size
    yield (f'| variant | backbone params | backbone GMACs at {height}x{width} '
           '| classifier GMACs at 224x224 | paper GMACs |')
    yield '|---|---:|---:|---:|---:|'
    for arch in archs:
        found = variant_complexity(arch, size)
        yield (f'| {arch} | {found["params"]:,} | {found["macs"] / 1e9:.2f} '
               f'| {found["classifier_macs"] / 1e9:.3f} | {PAPER_GMACS[arch]} |')
