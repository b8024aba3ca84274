"""Prints parameters and multiply-accumulates (MACs) of every SwiftFormer variant.

For each variant: the backbone's parameters (with its BatchNorm output norms)
and MACs at the given input size, and the MACs of the equivalent ImageNet
classifier (backbone, final norm, pooled two linear heads) at 224x224 next
to the figures in the paper (Table 1). MACs are counted by MMEngine's
``FlopAnalyzer`` (what ``get_model_complexity_info`` uses), which counts convolutions, linear layers and
matrix products but not element-wise operations (normalisations,
activations, the attention's weighted sums); the paper's figures count the
same way, up to rounding. The counting lives in ``swiftformer_mm.analysis.complexity``.

Example::

    python tools/analysis_tools/get_flops.py --shape 800 1216
"""
import argparse

from swiftformer_mm.analysis import PAPER_GMACS, complexity_table


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--shape', type=int, nargs=2, default=[800, 1216], metavar=('H', 'W'),
                        help='backbone input height and width (default: 800 1216)')
    parser.add_argument('--arch', nargs='+', default=list(PAPER_GMACS), choices=list(PAPER_GMACS),
                        help='variants to measure (default: all)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    for line in complexity_table(args.arch, tuple(args.shape)):
        print(line)


if __name__ == '__main__':
    main()
