"""The training loss and validation metrics of a run, as ``tools/analysis_tools/plot_training.py`` draws them.

MMEngine's runner logs every scalar to ``WORK_DIR/<timestamp>/vis_data/scalars.json``,
one JSON record a line: training records hold ``loss`` and ``iter``; validation
records hold the metrics and count in epochs or iterations by the loop, so each
metric is placed at the iteration of the last training record before it.
"""
import io
import json
from pathlib import Path
from typing import Dict, List, Tuple

from ..engine.atomic_backend import write_atomically
from ..utils import newest_run_file

METRIC_KEYS = ('coco/bbox_mAP', 'coco/segm_mAP', 'coco/bbox_mAP_50', 'coco/segm_mAP_50', 'mIoU', 'aAcc',
               'mAcc')
SCALARS = 'vis_data/scalars.json'


def newest_scalars(work_dir: Path) -> Path:
    """The ``scalars.json`` of the newest run in ``work_dir``.

    Raises:
        FileNotFoundError: no run in ``work_dir`` has one.
    """
    path = newest_run_file(work_dir, SCALARS)
    if path is None:
        raise FileNotFoundError(f'no */{SCALARS} under {work_dir}; is it a work dir written by tools/train.py?')
    return path


def read_scalars(path: Path) -> Tuple[List[int], List[float], Dict[str, Tuple[List[int], List[float]]]]:
    """Returns ``(loss_iters, losses, {metric: (iters, values)})`` for the metrics of :data:`METRIC_KEYS`."""
    loss_iters, losses, metrics = [], [], {}
    last_iter = 0
    for line in Path(path).read_text().splitlines():
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


def render_curves(path: Path, title: str) -> bytes:
    """A PNG of the loss (left) and the validation metrics (right) of the scalars file ``path``."""
    from matplotlib.figure import Figure  # no pyplot: no global figure state, no GUI backend
    loss_iters, losses, metrics = read_scalars(path)
    fig = Figure(figsize=(11, 4))
    ax_loss, ax_metric = fig.subplots(1, 2)
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
    buffer = io.BytesIO()
    fig.savefig(buffer, format='png', dpi=100)
    return buffer.getvalue()


def plot_training(work_dir: Path, out: Path) -> None:
    """Draws the newest run of ``work_dir`` to the PNG ``out``, written atomically (whole or not at all).

    Raises:
        FileNotFoundError: ``work_dir`` holds no run with a ``scalars.json``.
    """
    write_atomically(out, render_curves(newest_scalars(work_dir), title=Path(work_dir).name))
