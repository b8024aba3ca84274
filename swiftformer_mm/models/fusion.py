"""Exact folding of affine maps into neighbouring convolutions (inference only).

Every function here returns new tensors or layers and leaves its inputs
untouched. The arithmetic is done in float64 and cast back to the layer's
dtype, so a folded layer differs from the original pair only by the
rounding of one product instead of two.

The identities, with a BatchNorm in eval mode written as ``s * x + t``
(``s = weight / sqrt(running_var + eps)``, ``t = bias - running_mean * s``):

- conv then BN: ``s * (W x + b) + t = (s W) x + (s b + t)``, any kernel,
  stride, padding or groups;
- BN then a 1x1 conv without padding: ``W (s x + t) + b = (W s) x + (W t + b)``;
  with a larger kernel or padding it would not be exact at the borders;
- a per-channel scale after a conv: ``g * (W x + b) = (g W) x + g b``.
"""
from typing import Tuple

import torch
import torch.nn as nn


def batchnorm_scale_shift(bn: nn.modules.batchnorm._BatchNorm) -> Tuple[torch.Tensor, torch.Tensor]:
    """The eval-mode BatchNorm as ``s * x + t``; returns ``(s, t)`` in float64."""
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError(f'{bn} has no running statistics (track_running_stats=False) '
                         'and cannot be folded into a convolution')
    mean, var = bn.running_mean.double(), bn.running_var.double()
    weight = torch.ones_like(mean) if bn.weight is None else bn.weight.detach().double()
    bias = torch.zeros_like(mean) if bn.bias is None else bn.bias.detach().double()
    scale = weight / torch.sqrt(var + bn.eps)
    return scale, bias - mean * scale


def _conv_like(conv: nn.Conv2d, weight: torch.Tensor, bias: torch.Tensor) -> nn.Conv2d:
    """A conv with ``conv``'s geometry, the given float64 weight and bias, and a bias."""
    fused = nn.Conv2d(
        conv.in_channels,
        conv.out_channels,
        conv.kernel_size,
        stride=conv.stride,
        padding=conv.padding,
        dilation=conv.dilation,
        groups=conv.groups,
        bias=True,
        padding_mode=conv.padding_mode,
        device=conv.weight.device,
        dtype=conv.weight.dtype)
    with torch.no_grad():
        fused.weight.copy_(weight)
        fused.bias.copy_(bias)
    return fused


def _weight_and_bias(conv: nn.Conv2d) -> Tuple[torch.Tensor, torch.Tensor]:
    weight = conv.weight.detach().double()
    if conv.bias is None:
        return weight, weight.new_zeros(conv.out_channels)
    return weight, conv.bias.detach().double()


def fuse_conv_bn(conv: nn.Conv2d, bn: nn.modules.batchnorm._BatchNorm) -> nn.Conv2d:
    """``bn(conv(x))`` as one conv."""
    scale, shift = batchnorm_scale_shift(bn)
    weight, bias = _weight_and_bias(conv)
    return _conv_like(conv, weight * scale.view(-1, 1, 1, 1), bias * scale + shift)


def fuse_bn_pointwise(bn: nn.modules.batchnorm._BatchNorm, conv: nn.Conv2d) -> nn.Conv2d:
    """``conv(bn(x))`` as one conv; ``conv`` must be a 1x1, stride-free, unpadded, ungrouped conv."""
    if (conv.kernel_size != (1, 1) or conv.padding not in ((0, 0), 'valid') or conv.groups != 1
            or conv.stride != (1, 1)):
        raise ValueError(f'a BatchNorm folds exactly only into a following 1x1 conv without '
                         f'padding, stride or groups, got {conv}')
    scale, shift = batchnorm_scale_shift(bn)
    weight, bias = _weight_and_bias(conv)
    return _conv_like(conv, weight * scale.view(1, -1, 1, 1), bias + weight[:, :, 0, 0] @ shift)


def scale_conv_output(conv: nn.Conv2d, scale: torch.Tensor) -> nn.Conv2d:
    """``scale * conv(x)`` as one conv, for a per-output-channel ``scale`` (e.g. a layer scale)."""
    scale = scale.detach().double().reshape(-1)
    weight, bias = _weight_and_bias(conv)
    return _conv_like(conv, weight * scale.view(-1, 1, 1, 1), bias * scale)
