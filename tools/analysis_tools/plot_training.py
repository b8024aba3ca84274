"""Plots the training loss and the validation metrics of a run (PNG).

Reads the ``vis_data/scalars.json`` that MMEngine's runner writes under
``WORK_DIR/<timestamp>/`` (the newest run when there are several) and draws
the training loss against the iteration and each validation metric
(``coco/bbox_mAP``, ``coco/segm_mAP``, ``mIoU``, ...) against the iteration at
which it was measured. An existing PNG is never replaced unless
``--overwrite`` is given; the new one is written whole or not at all.

Example::

    python tools/analysis_tools/plot_training.py work_dirs/maskrcnn_swiftformer_l1_coco --out curves.png
"""
import argparse
import sys
from pathlib import Path

from swiftformer_mm.analysis import plot_training
from swiftformer_mm.utils import OutputExistsError, refuse_overwrite


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('work_dir', type=Path, help='work dir of a training run')
    parser.add_argument('--out', type=Path, help='PNG to write (default: WORK_DIR/training_curves.png); '
                        'refused if it exists, unless --overwrite')
    parser.add_argument('--overwrite', action='store_true', help='replace an existing --out')
    args = parser.parse_args(argv)
    out = args.out or args.work_dir / 'training_curves.png'
    try:
        refuse_overwrite(out, args.overwrite, '--out')
        plot_training(args.work_dir, out)
    except (FileNotFoundError, OutputExistsError) as error:
        sys.exit(f'error: {error}')
    print(f'wrote {out}')


if __name__ == '__main__':
    main()
