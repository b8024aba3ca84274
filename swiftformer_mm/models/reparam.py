"""Re-parameterisation: the training form's blocks folded into the deploy form's (:mod:`.deploy_blocks`).

Every function here reads a training-form module in eval mode and writes its
folded weights into a deploy-form module (:func:`fold_stem` and
:func:`fold_stage` build those by shape); the training form is left untouched. The arithmetic is
done in float64 and cast back to the layer's dtype, so a folded layer
differs from the original pair only by the rounding of one product instead
of two. The identities, with a BatchNorm in eval mode written as ``s * x + t``
(``s = weight / sqrt(running_var + eps)``, ``t = bias - running_mean * s``):

- conv then BN: ``s * (W x + b) + t = (s W) x + (s b + t)``, any kernel,
  stride, padding or groups;
- BN then a 1x1 conv without padding: ``W (s x + t) + b = (W s) x + (W t + b)``;
  with a larger kernel or padding it would not be exact at the borders;
- a per-channel scale after a conv: ``g * (W x + b) = (g W) x + g b``;
- the attention: see :class:`.deploy_blocks.FusedAdditiveAttention`.

:func:`switch_to_deploy` switches every SwiftFormer inside a model (a
backbone, a detector, a segmentor).
"""
from typing import Tuple

import torch
import torch.nn as nn

from .attention import EfficientAdditiveAttention
from .blocks import ConvEncoder, Downsample, Mlp, Stage, Stem, SwiftFormerEncoder
from .deploy_blocks import (FusedAdditiveAttention, FusedResidualMlp, FusedStage, FusedStem,
                            FusedSwiftFormerEncoder)

Affine = Tuple[torch.Tensor, torch.Tensor]  # (weight, bias) in float64


def batchnorm_scale_shift(bn: nn.modules.batchnorm._BatchNorm) -> Affine:
    """The eval-mode BatchNorm as ``s * x + t``; returns ``(s, t)`` in float64."""
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError(f'{bn} has no running statistics (track_running_stats=False) '
                         'and cannot be folded into a convolution')
    mean, var = bn.running_mean.double(), bn.running_var.double()
    weight = torch.ones_like(mean) if bn.weight is None else bn.weight.detach().double()
    bias = torch.zeros_like(mean) if bn.bias is None else bn.bias.detach().double()
    scale = weight / torch.sqrt(var + bn.eps)
    return scale, bias - mean * scale


def _conv_affine(conv: nn.Conv2d) -> Affine:
    weight = conv.weight.detach().double()
    bias = weight.new_zeros(conv.out_channels) if conv.bias is None else conv.bias.detach().double()
    return weight, bias


def conv_then_bn(conv: nn.Conv2d, bn: nn.modules.batchnorm._BatchNorm) -> Affine:
    """``bn(conv(x))`` as one conv's weight and bias."""
    scale, shift = batchnorm_scale_shift(bn)
    weight, bias = _conv_affine(conv)
    return weight * scale.view(-1, 1, 1, 1), bias * scale + shift


def bn_then_pointwise(bn: nn.modules.batchnorm._BatchNorm, conv: nn.Conv2d) -> Affine:
    """``conv(bn(x))`` as one conv; ``conv`` must be a 1x1, stride-free, unpadded, ungrouped conv."""
    if (conv.kernel_size != (1, 1) or conv.padding not in ((0, 0), 'valid') or conv.groups != 1
            or conv.stride != (1, 1)):
        raise ValueError(f'a BatchNorm folds exactly only into a following 1x1 conv without '
                         f'padding, stride or groups, got {conv}')
    scale, shift = batchnorm_scale_shift(bn)
    weight, bias = _conv_affine(conv)
    return weight * scale.view(1, -1, 1, 1), bias + weight[:, :, 0, 0] @ shift


def scaled_conv(conv: nn.Conv2d, scale: torch.Tensor) -> Affine:
    """``scale * conv(x)`` for a per-output-channel ``scale`` (e.g. a layer scale)."""
    scale = scale.detach().double().reshape(-1)
    weight, bias = _conv_affine(conv)
    return weight * scale.view(-1, 1, 1, 1), bias * scale


@torch.no_grad()
def _load(conv: nn.Conv2d, affine: Affine) -> None:
    conv.weight.copy_(affine[0])
    conv.bias.copy_(affine[1])


def _like(module: nn.Module, reference: torch.Tensor) -> nn.Module:
    """``module`` on the device and in the dtype of ``reference``."""
    return module.to(device=reference.device, dtype=reference.dtype)


def fold_conv_encoder(block: ConvEncoder, fused: FusedResidualMlp) -> None:
    """``x + g * pw2(GELU(pw1(BN(dw(x)))))`` -> ``x + fc2(GELU(fc1(dw'(x))))``, into ``fused``."""
    _load(fused.dwconv, conv_then_bn(block.dwconv, block.norm))
    _load(fused.fc1, _conv_affine(block.pwconv1))
    _load(fused.fc2, scaled_conv(block.pwconv2, block.layer_scale))


def fold_mlp(mlp: Mlp, layer_scale: torch.Tensor, fused: FusedResidualMlp) -> None:
    """``x + g2 * fc2(GELU(fc1(BN(x))))`` -> ``x + fc2'(GELU(fc1'(x)))``, into ``fused``."""
    _load(fused.fc1, bn_then_pointwise(mlp.norm, mlp.fc1))
    _load(fused.fc2, scaled_conv(mlp.fc2, layer_scale))


@torch.no_grad()
def fold_attention(attn: EfficientAdditiveAttention, layer_scale: torch.Tensor,
                   fused: FusedAdditiveAttention) -> None:
    """``x + g1 * attn(x)`` -> :class:`.deploy_blocks.FusedAdditiveAttention`, into ``fused``."""
    gamma = layer_scale.detach().double().reshape(-1, 1)
    query_out = gamma * attn.final.weight.double()
    fused.qk_weight.copy_(torch.cat([attn.to_query.weight, attn.to_key.weight]))
    fused.qk_bias.copy_(torch.cat([attn.to_query.bias, attn.to_key.bias]))
    fused.token_weight.copy_(attn.w_g[:, 0] * attn.scale)
    fused.query_out.copy_(query_out)
    fused.key_out.copy_(query_out @ attn.proj.weight.double())
    fused.bias.copy_(query_out @ attn.proj.bias.double() + gamma[:, 0] * attn.final.bias.double())


def fold_swiftformer_encoder(block: SwiftFormerEncoder, fused: FusedSwiftFormerEncoder) -> None:
    fold_conv_encoder(block.local_representation, fused.local_representation)
    fold_attention(block.attn, block.layer_scale_1, fused.attn)
    fold_mlp(block.mlp, block.layer_scale_2, fused.mlp)


def fold_stem(stem: Stem) -> FusedStem:
    """The stem with both BatchNorms folded into its convs."""
    fused = _like(FusedStem(stem[3].out_channels, stem[0].in_channels), stem[0].weight)
    _load(fused[0], conv_then_bn(stem[0], stem[1]))
    _load(fused[2], conv_then_bn(stem[3], stem[4]))
    return fused


def fold_stage(stage: Stage) -> FusedStage:
    """A stage's downsample and blocks in deploy form (no activation checkpointing)."""
    *conv_encoders, encoder = stage.blocks
    dim, hidden_dim = encoder.mlp.fc1.in_channels, encoder.mlp.fc1.out_channels
    downsample = stage.downsample
    in_channels = dim if downsample is None else downsample.proj.in_channels
    fused = _like(FusedStage(in_channels, dim, len(stage.blocks), downsample is not None, hidden_dim),
                  encoder.mlp.fc1.weight)
    if isinstance(downsample, Downsample):
        _load(fused.downsample, conv_then_bn(downsample.proj, downsample.norm))
    for block, fused_block in zip(conv_encoders, fused.blocks):
        fold_conv_encoder(block, fused_block)
    fold_swiftformer_encoder(encoder, fused.blocks[-1])
    return fused


def switch_to_deploy(model: nn.Module) -> nn.Module:
    """Switches every :class:`~.swiftformer.SwiftFormer` in ``model`` in place and returns ``model``.

    See :meth:`.swiftformer.SwiftFormer.switch_to_deploy` for the rules
    (eval mode only; the result cannot be trained).

    Raises:
        ValueError: ``model`` contains no SwiftFormer.
        RuntimeError: a SwiftFormer in it is in training mode.
    """
    from .swiftformer import SwiftFormer
    backbones = [module for module in model.modules() if isinstance(module, SwiftFormer)]
    if not backbones:
        raise ValueError(f'{type(model).__name__} contains no SwiftFormer to switch to deploy form')
    for backbone in backbones:
        backbone.switch_to_deploy()
    return model
