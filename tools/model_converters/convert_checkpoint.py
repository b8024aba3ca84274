"""Converts a SwiftFormer checkpoint of any known format into a clean file.

Reads official (ImageNet or dense), timm, HF transformers, mmdet/mmseg and
swiftformer_mm checkpoints, and writes ``{'state_dict': backbone weights,
'meta': {...}}`` holding only tensors and plain types, so the result loads
with ``torch.load(..., weights_only=True)``. By default the keys are this
project's; ``--to`` writes another implementation's names instead.

Example::

    python tools/model_converters/convert_checkpoint.py SwiftFormer_L1.pth checkpoints/swiftformer_l1_in1k.pth
"""
import argparse
import sys

from swiftformer_mm.checkpoint import FORMATS, CheckpointError, convert_checkpoint
from swiftformer_mm.utils import OutputExistsError, refuse_overwrite


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='checkpoint to read')
    parser.add_argument('dst', help='file to write (refused if it exists, unless --overwrite)')
    parser.add_argument('--ema', action='store_true', help='take the official "model_ema" weights')
    parser.add_argument('--to', choices=FORMATS, default='swiftformer_mm',
                        help='key names to write (default: swiftformer_mm)')
    parser.add_argument('--overwrite', action='store_true', help='replace an existing dst')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        refuse_overwrite(args.dst, args.overwrite)
        checkpoint = convert_checkpoint(args.src, args.dst, key_format=args.to, use_ema=args.ema)
    except (CheckpointError, OutputExistsError) as error:
        sys.exit(f'error: {error}')
    print(f'{args.src} ({checkpoint["meta"]["source_format"]}{", EMA" if args.ema else ""}) -> {args.dst}: '
          f'{len(checkpoint["state_dict"])} tensors in {args.to} names')


if __name__ == '__main__':
    main()
