"""Draws a trained model's predictions on images: one qualitative image per input.

Detection configs: instance masks, boxes, class names and scores (mmdet's
DetLocalVisualizer). Segmentation configs: the colour-coded class map blended
over the image (mmseg's SegLocalVisualizer). With ``--with-gt`` the images of
a split of the config's dataset are drawn as ground truth | prediction panels,
as in the paper's qualitative figures.

Outputs are PNGs: ``<stem>.png`` for an image given by name, the path
relative to the folder for images found in a folder (searched recursively
for .jpg/.jpeg/.png/.bmp), the image's file name for ``--with-gt``. An
existing non-empty ``--out-dir`` is refused unless ``--overwrite``. An image
(or, with ``--with-gt``, a label map) that cannot be read is reported by name
on stderr and skipped; the others are still drawn, and the exit status is then 1.

Examples::

    python tools/visualize.py CONFIG CHECKPOINT photos/ street.jpg --out-dir vis
    python tools/visualize.py CONFIG CHECKPOINT --with-gt --split val --out-dir vis_val
"""
import argparse
import sys
from pathlib import Path

from mmengine.config import DictAction
from mmengine.utils import ProgressBar

from swiftformer_mm.cli import (RUN_ERRORS, ConfigError, DataError, add_fast_inference_args, error_message,
                                load_config, require_checkpoint, task_of)
from swiftformer_mm.cli.images import (UnreadableImageError, collect_images, prepare_out_dir,
                                        read_rgb, unique_outputs)
from swiftformer_mm.cli.visualization import SPLITS, Drawer, GroundTruth
from swiftformer_mm.utils import refuse_overwrite


def fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f'{text} is not in [0, 1]')
    return value


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='config file (mmdet or mmseg)')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('inputs', nargs='*', help='images and/or folders of images')
    parser.add_argument('--out-dir', required=True, type=Path, help='folder for the drawn images')
    parser.add_argument('--with-gt', action='store_true',
                        help='instead of INPUTS, draw ground truth | prediction for the images '
                        'of --split')
    parser.add_argument('--split', choices=SPLITS, default='val',
                        help='dataset split for --with-gt (default: val)')
    parser.add_argument('--score-thr', type=fraction, default=0.3,
                        help='detection: draw instances scoring above this (default: 0.3)')
    parser.add_argument('--opacity', type=fraction, default=0.5,
                        help='opacity of the masks / class map (default: 0.5)')
    parser.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0 (default: cpu)')
    parser.add_argument('--deploy', action='store_true',
                        help='predict with every SwiftFormer in its deploy form (same predictions, faster)')
    add_fast_inference_args(parser)
    parser.add_argument('--overwrite', action='store_true',
                        help='write into a non-empty --out-dir, replacing files of the same name')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. test_dataloader.dataset.data_root=x/')
    args = parser.parse_args(argv)
    if args.with_gt and args.inputs:
        parser.error('--with-gt draws the images of --split; give no INPUTS with it')
    if not args.with_gt and not args.inputs:
        parser.error('give images or folders to draw, or --with-gt')
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        refuse_overwrite(args.out_dir, args.overwrite, '--out-dir', folder=True)  # before any work
        require_checkpoint(args.checkpoint)
        cfg = load_config(args.config, args.cfg_options)
        task = task_of(cfg)
        ground_truth = GroundTruth(cfg, task, args.split) if args.with_gt else None
        if ground_truth is None:
            jobs = [(path, name, None) for path, name in collect_images(args.inputs)]
        else:
            pairs = [(path, Path(path.name).with_suffix('.png'))
                     for path in ground_truth.image_paths()]
            unique_outputs(pairs)  # refuses two images of the same file name
            jobs = [(path, name, index) for index, (path, name) in enumerate(pairs)]
        drawer = Drawer(cfg, args.checkpoint, task, args.device, args.opacity, args.score_thr, args.deploy,
                        args.compile, args.cuda_graphs)
        prepare_out_dir(args.out_dir, args.overwrite)  # made only once everything is ready
    except (ConfigError, FileNotFoundError, FileExistsError, ValueError) as error:
        sys.exit(f'error: {error}')
    except RUN_ERRORS as error:
        sys.exit(f'error: {error_message(error)}')

    failures = 0
    progress = ProgressBar(len(jobs))
    for path, name, index in jobs:
        try:
            image = read_rgb(path)
            gt_sample = None if index is None else ground_truth.sample(index)
        except (UnreadableImageError, DataError) as error:
            failures += 1
            print(f'\nskipped: {error}', file=sys.stderr, flush=True)
        else:
            drawer.draw(image, drawer.predict(path), args.out_dir / name, gt_sample)
        progress.update()
    print(f'\n{len(jobs) - failures} images drawn in {args.out_dir}')
    if failures:
        sys.exit(f'error: {failures} of {len(jobs)} images could not be read (each is named above); '
                 'the others are drawn. Replace or remove those files and run again with --overwrite')


if __name__ == '__main__':
    main()
