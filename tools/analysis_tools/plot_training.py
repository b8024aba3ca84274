"""Plots the training loss and the validation metrics of a run (PNG).

Reads the ``vis_data/scalars.json`` that MMEngine's runner writes under
``WORK_DIR/<timestamp>/`` (the newest run when there are several) and draws
the training loss against the iteration and each validation metric
(``coco/bbox_mAP``, ``coco/segm_mAP``, ``mIoU``, ...) against the iteration at
which it was measured.

Example::

    python tools/analysis_tools/plot_training.py work_dirs/maskrcnn_swiftformer_l1_coco --out curves.png
"""
import argparse
import json
import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

METRIC_KEYS = ('coco/bbox_mAP', 'coco/segm_mAP', 'coco/bbox_mAP_50', 'coco/segm_mAP_50', 'mIoU', 'aAcc',
               'mAcc')


def newest_scalars(work_dir: Path) -> Path:
    runs = sorted(work_dir.glob('*/vis_data/scalars.json'), key=os.path.getmtime)
    if not runs:
        raise FileNotFoundError(f'no */vis_data/scalars.json under {work_dir}; is it a work dir '
                                'written by tools/train.py?')
    return runs[-1]


def read_scalars(path: Path):
    """Returns ``(loss_iters, losses, {metric: (iters, values)})``."""
    loss_iters, losses, metrics = [], [], {}
    last_iter = 0
    for line in path.read_text().splitlines():
        record = json.loads(line)
        if 'loss' in record:
            last_iter = record['iter']
            loss_iters.append(last_iter)
            losses.append(record['loss'])
        for key in METRIC_KEYS:
            if key in record:
                iters, values = metrics.setdefault(key, ([], []))
                iters.append(last_iter)
                values.append(record[key])
    return loss_iters, losses, metrics


def plot(path: Path, out: Path, title: str) -> None:
    loss_iters, losses, metrics = read_scalars(path)
    fig, (ax_loss, ax_metric) = plt.subplots(1, 2, figsize=(11, 4))
    ax_loss.plot(loss_iters, losses, color='tab:blue')
    ax_loss.set(xlabel='iteration', ylabel='training loss', title='training loss')
    ax_loss.grid(alpha=0.3)
    for key, (iters, values) in metrics.items():
        ax_metric.plot(iters, values, marker='o', label=key)
    ax_metric.set(xlabel='iteration', ylabel='value', title='validation metrics')
    if metrics:
        ax_metric.legend(fontsize=8)
    ax_metric.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('work_dir', type=Path, help='work dir of a training run')
    parser.add_argument('--out', type=Path, help='PNG to write (default: WORK_DIR/training_curves.png)')
    args = parser.parse_args(argv)
    out = args.out or args.work_dir / 'training_curves.png'
    try:
        scalars = newest_scalars(args.work_dir)
    except FileNotFoundError as error:
        sys.exit(f'error: {error}')
    plot(scalars, out, title=args.work_dir.name)
    print(f'wrote {out}')


if __name__ == '__main__':
    main()
