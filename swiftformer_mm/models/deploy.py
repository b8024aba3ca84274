"""The deploy form of SwiftFormer's blocks: the same function with fewer, fused layers.

``deploy_stem``, ``deploy_stage`` and friends build, from a block of the
training form in eval mode, a block that computes the same outputs (up to
float rounding) with every BatchNorm, layer scale and consecutive linear
map of the attention folded into convolutions (see :mod:`.fusion`):

- stem and downsample: conv + BN -> one conv;
- conv encoder and local representation,
  ``x + g * pw2(GELU(pw1(BN(dw(x)))))`` -> ``x + pw2'(GELU(pw1(dw'(x))))``;
- MLP branch, ``x + g2 * fc2(GELU(fc1(BN(x))))`` -> ``x + fc2'(GELU(fc1'(x)))``;
- attention branch, ``x + g1 * final(proj(G k) + q)`` with ``G = diag(global query)``
  -> ``x + c + [g1 Wf | g1 Wf Wp G] @ [q; k]``: one shared projection makes
  ``[q; k]``, and one batched matrix product per image does proj, final
  and the layer scale together.

The deploy form is for inference: it holds no BatchNorm statistics to
update and no separate layer scales to train.
"""
from typing import List

import torch
import torch.nn as nn
import torch.nn.functional as F

from .attention import EfficientAdditiveAttention
from .blocks import ConvEncoder, Downsample, Mlp, Stage, Stem, SwiftFormerEncoder
from .fusion import fuse_bn_pointwise, fuse_conv_bn, scale_conv_output
from .ops import is_channels_last, pointwise_mlp


class FusedResidualMlp(nn.Module):
    """``x + fc2(GELU(fc1(spatial(x))))``; ``spatial`` is a depth-wise conv or nothing.

    The deploy form of :class:`ConvEncoder` (with ``spatial``) and of the MLP
    branch of :class:`SwiftFormerEncoder` (without). ``fc1`` and ``fc2`` are
    1x1 convs, run through :func:`.ops.pointwise_mlp`; GELU is the exact one.
    """

    def __init__(self, spatial: nn.Module, fc1: nn.Conv2d, fc2: nn.Conv2d):
        super().__init__()
        self.spatial = spatial
        self.fc1 = fc1
        self.fc2 = fc2

    @classmethod
    def from_conv_encoder(cls, block: ConvEncoder) -> 'FusedResidualMlp':
        return cls(
            fuse_conv_bn(block.dwconv, block.norm), block.pwconv1,
            scale_conv_output(block.pwconv2, block.layer_scale))

    @classmethod
    def from_mlp(cls, mlp: Mlp, layer_scale: torch.Tensor) -> 'FusedResidualMlp':
        return cls(nn.Identity(), fuse_bn_pointwise(mlp.norm, mlp.fc1),
                   scale_conv_output(mlp.fc2, layer_scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return pointwise_mlp(self.spatial(x), self.fc1, self.fc2, residual=x)


class FusedAdditiveAttention(nn.Module):
    """``x + g1 * attn(x)`` of :class:`EfficientAdditiveAttention`, with its linear maps fused.

    With ``Wq, Wk, Wp, Wf`` the query, key, proj and final weights and ``g1``
    the layer scale, the training form computes
    ``x + g1 (Wf (Wp (G k) + bp + q) + bf)``, ``G`` the diagonal of the
    global query. That is ``x + c + Wf' q + Wf' Wp G k`` with ``Wf' = g1 Wf``
    and ``c = Wf' bp + g1 bf``, i.e. one matrix ``[Wf' | Wf' Wp G]`` per image
    applied to the stacked ``[q; k]`` that one shared projection computes.
    It works on tokens (B, N, C), a view of channels-last maps; an NCHW input
    gives an NCHW output.

    Args:
        attn (EfficientAdditiveAttention): The training-form attention.
        layer_scale (Tensor): Its layer scale ``g1``, shape (C, 1, 1).
    """

    def __init__(self, attn: EfficientAdditiveAttention, layer_scale: torch.Tensor):
        super().__init__()
        dim = attn.to_query.in_features
        dtype = attn.final.weight.dtype
        with torch.no_grad():
            gamma = layer_scale.detach().double().reshape(dim, 1)
            query_out = gamma * attn.final.weight.double()
            bias = query_out @ attn.proj.bias.double() + gamma[:, 0] * attn.final.bias.double()
            self.qk_weight = nn.Parameter(torch.cat([attn.to_query.weight, attn.to_key.weight]))
            self.qk_bias = nn.Parameter(torch.cat([attn.to_query.bias, attn.to_key.bias]))
            self.token_weight = nn.Parameter(attn.w_g[:, 0] * attn.scale)
            self.query_out = nn.Parameter(query_out.to(dtype))
            self.key_out = nn.Parameter((query_out @ attn.proj.weight.double()).to(dtype))
            self.bias = nn.Parameter(bias.to(dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, dim, height, width = x.shape
        tokens = x.flatten(2).transpose(1, 2)
        qk = F.linear(tokens, self.qk_weight, self.qk_bias).view(batch, -1, 2, dim)
        qk = F.normalize(qk, dim=3).flatten(2)  # (B, N, 2C): [q | k] of each token
        query = qk[..., :dim]
        # token weights alpha (B, 1, N) with unit L2 norm over the N tokens; global query (B, 1, C)
        alpha = F.normalize(torch.matmul(query, self.token_weight), dim=1).unsqueeze(1)
        global_query = torch.matmul(alpha, query)
        weight = torch.cat([self.query_out.expand(batch, dim, dim), self.key_out * global_query], dim=2)
        out = torch.baddbmm(tokens + self.bias, qk, weight.transpose(1, 2))
        out = out.transpose(1, 2).view(batch, dim, height, width)
        return out if is_channels_last(x) else out.contiguous()


class FusedSwiftFormerEncoder(nn.Sequential):
    """The deploy form of :class:`SwiftFormerEncoder`: three residual blocks in a row.

    Without stochastic depth (an inference form), the encoder is
    ``local -> x + attn -> x + mlp``, each step a residual fused block.
    """

    def __init__(self, block: SwiftFormerEncoder):
        super().__init__()
        self.local_representation = FusedResidualMlp.from_conv_encoder(block.local_representation)
        self.attn = FusedAdditiveAttention(block.attn, block.layer_scale_1)
        self.mlp = FusedResidualMlp.from_mlp(block.mlp, block.layer_scale_2)


def deploy_stem(stem: Stem) -> nn.Sequential:
    """The stem with both BatchNorms folded: conv, ReLU, conv, ReLU."""
    return nn.Sequential(fuse_conv_bn(stem[0], stem[1]), nn.ReLU(inplace=True),
                         fuse_conv_bn(stem[3], stem[4]), nn.ReLU(inplace=True))


def deploy_downsample(downsample: Downsample) -> nn.Conv2d:
    return fuse_conv_bn(downsample.proj, downsample.norm)


def deploy_blocks(blocks: nn.Sequential) -> nn.Sequential:
    """A stage's blocks in deploy form."""
    deployed: List[nn.Module] = []
    for block in blocks:
        if isinstance(block, ConvEncoder):
            deployed.append(FusedResidualMlp.from_conv_encoder(block))
        elif isinstance(block, SwiftFormerEncoder):
            deployed.append(FusedSwiftFormerEncoder(block))
        else:
            raise TypeError(f'no deploy form for {type(block).__name__}')
    return nn.Sequential(*deployed)


def deploy_stage(stage: Stage) -> None:
    """Switches ``stage`` to its deploy form in place (no activation checkpointing)."""
    if stage.downsample is not None:
        stage.downsample = deploy_downsample(stage.downsample)
    stage.blocks = deploy_blocks(stage.blocks)
    stage.with_cp = False
