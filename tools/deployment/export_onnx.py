"""Exports the SwiftFormer backbone, or a Semantic FPN segmentor, to ONNX with dynamic H and W.

After writing the file it runs onnxruntime on random inputs at every
``--check-size`` and prints the largest difference from PyTorch per output;
a difference above ``--tolerance`` is an error (exit status 1, the file is
kept for inspection). It needs setup.py's ``onnx`` extra (``pip install -e .[onnx]``);
``--check-size`` with no sizes skips the check, and with it onnxruntime.

Examples::

    # the backbone: a normalised (B, 3, H, W) image -> stage0..stage3
    python tools/deployment/export_onnx.py backbone --arch l1 --checkpoint SwiftFormer_L1.pth \\
        --out swiftformer_l1.onnx
    # a segmentor of an mmseg config: a BGR 0-255 image -> seg_logits (B, classes, H, W)
    python tools/deployment/export_onnx.py segmentor configs/fpn_swiftformer_l1_ade20k.py iter_40000.pth \\
        --out fpn_l1.onnx --deploy
"""
import argparse
import sys

from mmengine.config import DictAction

from swiftformer_mm.cli import ConfigError, parse_size
from swiftformer_mm.checkpoint import CheckpointError
from swiftformer_mm.export import (OnnxMismatchError, OnnxPackageMissingError, backbone_exportable,
                                   check_onnx_file, default_check_sizes, export_onnx,
                                   require_onnx_packages, segmentor_exportable)
from swiftformer_mm.models import SwiftFormer
from swiftformer_mm.utils import OutputExistsError, refuse_overwrite


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    what = parser.add_subparsers(dest='what', required=True)
    backbone = what.add_parser('backbone', help='the SwiftFormer backbone alone')
    backbone.add_argument('--arch', default='l1', help=f'one of {sorted(SwiftFormer.arch_settings)}')
    backbone.add_argument('--checkpoint', help='weights in any format the backbone loads '
                          '(random weights without it)')
    segmentor = what.add_parser('segmentor', help='an mmseg EncoderDecoder from a config')
    segmentor.add_argument('config', help='mmseg config file')
    segmentor.add_argument('checkpoint', help='checkpoint of that config (tools/train.py writes it)')
    segmentor.add_argument('--cfg-options', nargs='+', action=DictAction,
                           help='override config settings')
    for sub in (backbone, segmentor):
        sub.add_argument('--out', required=True, help='the .onnx file to write')
        sub.add_argument('--overwrite', action='store_true', help='replace an existing --out')
        sub.add_argument('--deploy', action='store_true',
                         help='export the deploy form (BatchNorms and layer scales folded)')
        sub.add_argument('--size', type=parse_size, default=(512, 512), metavar='HxW',
                         help='size of the traced input (default: 512x512); H and W stay free')
        sub.add_argument('--check-size', type=parse_size, nargs='*', default=None, metavar='HxW',
                         help='sizes to compare onnxruntime with PyTorch at (default: --size and '
                         'one of different aspect ratio); none to skip')
        sub.add_argument('--tolerance', type=float, default=1e-4,
                         help='largest accepted difference from PyTorch (default: 1e-4)')
    return parser.parse_args(argv)


def build(args):
    if args.what == 'backbone':
        return backbone_exportable(args.arch, args.checkpoint, deploy=args.deploy)
    return segmentor_exportable(args.config, args.checkpoint, deploy=args.deploy,
                                cfg_options=args.cfg_options)


def main(argv=None):
    args = parse_args(argv)
    sizes = args.check_size if args.check_size is not None else default_check_sizes(args.size)
    try:
        refuse_overwrite(args.out, args.overwrite, '--out')
        require_onnx_packages(check=bool(sizes), skip_check='pass --check-size with no sizes')
        exportable = build(args)
    except (ConfigError, CheckpointError, FileNotFoundError, OnnxPackageMissingError, OutputExistsError,
            ValueError) as error:
        sys.exit(f'error: {error}')
    export_onnx(exportable, args.out, args.size)
    print(f'written: {args.out}')
    try:
        check_onnx_file(exportable, args.out, sizes, args.tolerance)
    except OnnxMismatchError as error:
        sys.exit(f'error: {error}')


if __name__ == '__main__':
    main()
