"""``swiftformer_mm.analysis``: the MAC counter."""
import pytest
import torch
import torch.nn as nn

from swiftformer_mm import SwiftFormer
from swiftformer_mm.analysis import PAPER_GMACS, count_macs, variant_complexity

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
