"""Prints parameters and multiply-accumulates (MACs) of every SwiftFormer variant.

For each variant: the backbone's parameters (with its BatchNorm output norms)
and MACs at the given input size, and the MACs of the equivalent ImageNet
classifier (backbone, final norm, pooled two linear heads) at 224x224 next
to the figures in the paper (Table 1). MACs are counted by MMEngine's
``FlopAnalyzer`` (what ``get_model_complexity_info`` uses), which counts convolutions, linear layers and
matrix products but not element-wise operations (normalisations,
activations, the attention's weighted sums); the paper's figures count the
same way, up to rounding.

Example::

    python tools/analysis_tools/get_flops.py --shape 800 1216
"""
import argparse

import torch
import torch.nn as nn
from mmengine.analysis import FlopAnalyzer

from swiftformer_mm import SwiftFormer

PAPER_GMACS = {'xs': 0.6, 's': 1.0, 'l1': 1.6, 'l3': 4.0}


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


def count_macs(model: nn.Module, height: int, width: int) -> int:
    analyzer = FlopAnalyzer(model.eval(), inputs=(torch.rand(1, 3, height, width), ))
    # element-wise ops are not counted by design; the attention's linear layers run as
    # functional 1x1 convs, counted at op level, so their modules look "uncalled"
    return analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False).total()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--shape', type=int, nargs=2, default=[800, 1216], metavar=('H', 'W'),
                        help='backbone input height and width (default: 800 1216)')
    parser.add_argument('--arch', nargs='+', default=list(PAPER_GMACS), choices=list(PAPER_GMACS),
                        help='variants to measure (default: all)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    height, width = args.shape
    print(f'| variant | backbone params | backbone GMACs at {height}x{width} '
          '| classifier GMACs at 224x224 | paper GMACs |')
    print('|---|---:|---:|---:|---:|')
    with torch.no_grad():
        for arch in args.arch:
            backbone = SwiftFormer(arch=arch)
            params = sum(p.numel() for p in backbone.parameters())
            dense = count_macs(backbone, height, width) / 1e9
            classifier = count_macs(ClassifierEquivalent(arch), 224, 224) / 1e9
            print(f'| {arch} | {params:,} | {dense:.2f} | {classifier:.3f} | {PAPER_GMACS[arch]} |')


if __name__ == '__main__':
    main()
