"""``swiftformer_mm.analysis``: the MAC counter and the training curves."""
import json
import os

import pytest
import torch
import torch.nn as nn
from PIL import Image

from conftest import run_tool
from swiftformer_mm import SwiftFormer
from swiftformer_mm.analysis import (PAPER_GMACS, count_macs, newest_scalars, plot_training, read_scalars,
                                     variant_complexity)
from swiftformer_mm.utils import newest_run_file

TINY_ARCH = dict(depths=[2, 2, 3, 2], widths=[16, 24, 32, 40])


def test_count_macs_counts_a_convolution_and_leaves_out_element_wise_ops():
    conv = nn.Conv2d(3, 8, 3, padding=1)
    inputs = torch.rand(1, 3, 10, 12)
    assert count_macs(conv, inputs) == 3 * 8 * 3 * 3 * 10 * 12  # one MAC per weight per output pixel
    assert count_macs(nn.Sequential(conv, nn.ReLU(), nn.Sigmoid()), inputs) == count_macs(conv, inputs)


def test_count_macs_grows_linearly_with_the_pixels():
    """SwiftFormer's additive attention is linear in the tokens: four times the pixels, four times the MACs."""
    model = SwiftFormer(arch=TINY_ARCH).train()
    small = count_macs(model, torch.rand(1, 3, 64, 96))
    assert count_macs(model, torch.rand(1, 3, 128, 192)) == 4 * small
    assert not model.training  # counted as in inference


def test_variant_complexity_lands_on_the_paper_classifier_macs():
    found = variant_complexity('xs', (64, 64))
    assert found['classifier_macs'] / 1e9 == pytest.approx(PAPER_GMACS['xs'], rel=0.02)
    assert found['macs'] < found['classifier_macs']  # 64x64 is a twelfth of 224x224


# --- training curves ------------------------------------------------------------------------------


def write_run(work_dir, timestamp, records, mtime):
    """A run folder as MMEngine's runner leaves it, its scalars.json last modified at ``mtime``."""
    path = work_dir / timestamp / 'vis_data' / 'scalars.json'
    path.parent.mkdir(parents=True)
    path.write_text(''.join(json.dumps(record) + '\n' for record in records))
    os.utime(path, (mtime, mtime))
    return path


def test_newest_run_file_goes_by_modification_time_not_by_name(tmp_path):
    assert newest_run_file(tmp_path, 'vis_data/scalars.json') is None
    older = write_run(tmp_path, '20240102_000000', [], mtime=1_000_000)
    newer = write_run(tmp_path, '20240101_000000', [], mtime=2_000_000)  # e.g. a resumed run
    assert newest_run_file(tmp_path, 'vis_data/scalars.json') == newer != older
    with pytest.raises(FileNotFoundError, match='is it a work dir written by tools/train.py'):
        newest_scalars(tmp_path / 'elsewhere')


def test_validation_metrics_are_placed_at_the_iteration_they_were_measured(tmp_path):
    # an epoch-based run: validation records count in epochs ('step'), training ones in iterations
    path = write_run(tmp_path, 'run', [
        dict(lr=0.01, loss=2.0, iter=50, epoch=1, step=50),
        dict(lr=0.01, loss=1.5, iter=100, epoch=1, step=100),
        {'coco/bbox_mAP': 0.1, 'coco/segm_mAP': 0.05, 'data_time': 0.01, 'step': 1},
        dict(lr=0.01, loss=1.0, iter=150, epoch=2, step=150),
        {'coco/bbox_mAP': 0.2, 'coco/segm_mAP': 0.15, 'data_time': 0.01, 'step': 2},
    ], mtime=1_000_000)
    loss_iters, losses, metrics = read_scalars(path)
    assert (loss_iters, losses) == ([50, 100, 150], [2.0, 1.5, 1.0])
    assert metrics == {'coco/bbox_mAP': ([100, 150], [0.1, 0.2]), 'coco/segm_mAP': ([100, 150], [0.05, 0.15])}


def test_plot_training_draws_the_newest_run_to_a_png(tmp_path):
    write_run(tmp_path, 'old', [dict(loss=1.0, iter=1)], mtime=1_000_000)
    write_run(tmp_path, 'new', [dict(loss=1.0, iter=1), dict(loss=0.5, iter=2), dict(mIoU=40.0, step=2)],
              mtime=2_000_000)
    out = tmp_path / 'plots' / 'curves.png'
    plot_training(tmp_path, out)
    image = Image.open(out)
    assert image.format == 'PNG' and image.size == (1100, 400)
    assert [p.name for p in out.parent.iterdir()] == ['curves.png']  # no temporary file left


def test_plot_training_tool_keeps_an_existing_png_unless_overwrite(tmp_path):
    out = tmp_path / 'training_curves.png'
    out.write_bytes(b'earlier curves')
    # refused before the logs are read: this work dir has none
    refused = run_tool('analysis_tools/plot_training.py', tmp_path, check=False)
    assert refused.returncode == 1
    assert refused.stderr == (f'error: --out {out} already exists; pass --overwrite to replace it, '
                              'or choose another path\n')
    assert out.read_bytes() == b'earlier curves'
    write_run(tmp_path, 'run', [dict(loss=1.0, iter=1), dict(loss=0.5, iter=2)], mtime=1_000_000)
    result = run_tool('analysis_tools/plot_training.py', tmp_path, '--overwrite')
    assert result.stdout == f'wrote {out}\n' and Image.open(out).format == 'PNG'
