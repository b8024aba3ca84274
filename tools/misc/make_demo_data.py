"""Generates the synthetic "shapes" data set (COCO instances and ADE20K-style semantic labels).

The generator, its layout and label conventions are in
``swiftformer_mm.data.shapes``; this tool only parses the arguments.

Example::

    python tools/misc/make_demo_data.py --out-dir data/shapes [--num-train 400] [--num-val 50] \\
        [--size 160] [--seed 0] [--overwrite]
"""
import argparse
import sys

from swiftformer_mm.data.shapes import CLASSES, SEG_CLASSES, make_demo_data


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out-dir', required=True, help='output folder')
    parser.add_argument('--num-train', type=int, default=400)
    parser.add_argument('--num-val', type=int, default=50)
    parser.add_argument('--size', type=int, default=160, help='image side')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--overwrite', action='store_true',
                        help='write into a non-empty --out-dir, replacing an earlier data set of this tool '
                        'there (never coco/ or ade/ folders it did not write)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        summary = make_demo_data(args.out_dir, args.num_train, args.num_val, args.size, args.seed, args.overwrite)
    except (FileExistsError, ValueError) as error:
        sys.exit(f'error: {error}')
    for split, info in summary.items():
        print(f'{split}: {info["images"]} images, {info["instances"]} instances -> {info["coco_ann_file"]}, '
              f'{info["ade_img_dir"]}')
    print(f'classes: {", ".join(CLASSES)}; seg classes (reduce_zero_label=True): {", ".join(SEG_CLASSES)}')


if __name__ == '__main__':
    main()
