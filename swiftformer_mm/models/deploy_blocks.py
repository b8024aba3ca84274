"""SwiftFormer's deploy form: the same function as the training form with fewer, fused layers.

Every BatchNorm inside the stages, every layer scale and the consecutive
linear maps of the attention are folded into convolutions
(:mod:`.reparam` does the folding):

- stem and downsample: conv + BN -> one conv;
- conv encoder and local representation,
  ``x + g * pw2(GELU(pw1(BN(dw(x)))))`` -> ``x + fc2(GELU(fc1(dw'(x))))``;
- MLP branch, ``x + g2 * fc2(GELU(fc1(BN(x))))`` -> ``x + fc2'(GELU(fc1'(x)))``;
- attention branch, ``x + g1 * final(proj(G k) + q)`` with ``G = diag(global query)``
  -> ``x + c + [g1 Wf | g1 Wf Wp G] @ [q; k]``: one shared projection makes
  ``[q; k]``, and one batched matrix product per image does proj, final
  and the layer scale together.

This is also where the execution is chosen per device, by the input: on a
CPU, outside autograd, autocast, tracing and compiling, the blocks run the
channels-last, chunked, in-place kernels of
:mod:`swiftformer_mm.ops.cpu_kernels`; everywhere else (CUDA included) they
run the plain NCHW ops below, which go to cuDNN on a GPU.

The deploy form is for inference: it holds no BatchNorm statistics to
update and no separate layer scales to train.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..ops import cpu_kernels


class FusedResidualMlp(nn.Module):
    """``x + fc2(GELU(fc1(dwconv(x))))``; without ``dwconv`` for the MLP branch.

    The deploy form of :class:`~.blocks.ConvEncoder` (with a depth-wise 3x3
    conv) and of the MLP branch of :class:`~.blocks.SwiftFormerEncoder`
    (``dwconv`` is an identity there). GELU is the exact one.

    Args:
        dim (int): Number of channels C.
        hidden_dim (int): Width of the point-wise bottleneck.
        with_dwconv (bool): Whether a depth-wise 3x3 conv comes first.
    """

    def __init__(self, dim: int, hidden_dim: int, with_dwconv: bool):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 3, padding=1, groups=dim) if with_dwconv else nn.Identity()
        self.fc1 = nn.Conv2d(dim, hidden_dim, 1)
        self.act = nn.GELU()
        self.fc2 = nn.Conv2d(hidden_dim, dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if cpu_kernels.applies(x):
            return cpu_kernels.residual_mlp(x, self.dwconv, self.fc1, self.fc2)
        return x + self.fc2(self.act(self.fc1(self.dwconv(x))))


class FusedAdditiveAttention(nn.Module):
    """``x + g1 * attn(x)`` of :class:`~.attention.EfficientAdditiveAttention`, its linear maps fused.

    With ``Wq, Wk, Wp, Wf`` the query, key, proj and final weights and ``g1``
    the layer scale, the training form computes
    ``x + g1 (Wf (Wp (G k) + bp + q) + bf)``, ``G`` the diagonal of the
    global query. That is ``x + c + Wf' q + Wf' Wp G k`` with ``Wf' = g1 Wf``
    and ``c = Wf' bp + g1 bf``, i.e. one matrix ``[Wf' | Wf' Wp G]`` per image
    applied to the stacked ``[q; k]`` that one shared projection computes.

    Parameters: ``qk_weight`` (2C, C) and ``qk_bias`` (2C) make ``[q; k]``;
    ``token_weight`` (C) is ``w_g / sqrt(C)``; ``query_out`` (C, C) is
    ``Wf'``, ``key_out`` (C, C) is ``Wf' Wp``; ``bias`` (C) is ``c``.

    Args:
        dim (int): Number of channels C.
    """

    def __init__(self, dim: int):
        super().__init__()
        self.qk_weight = nn.Parameter(torch.zeros(2 * dim, dim))
        self.qk_bias = nn.Parameter(torch.zeros(2 * dim))
        self.token_weight = nn.Parameter(torch.zeros(dim))
        self.query_out = nn.Parameter(torch.zeros(dim, dim))
        self.key_out = nn.Parameter(torch.zeros(dim, dim))
        self.bias = nn.Parameter(torch.zeros(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if cpu_kernels.applies(x):
            return cpu_kernels.additive_attention(x, self.qk_weight, self.qk_bias, self.token_weight,
                                                  self.query_out, self.key_out, self.bias)
        batch, dim, height, width = x.shape
        qk = F.conv2d(x, self.qk_weight[:, :, None, None], self.qk_bias)  # (B, 2C, H, W): [q; k]
        qk = F.normalize(qk.reshape(batch, 2, dim, height * width), dim=2)
        query = qk[:, 0]  # (B, C, N)
        # token weights alpha (B, N, 1) with unit L2 norm over the N tokens; global query (B, C, 1)
        alpha = F.normalize(self.token_weight @ query, dim=1).unsqueeze(2)
        global_query = torch.bmm(query, alpha)
        weight = torch.cat([self.query_out.expand(batch, dim, dim),
                            self.key_out * global_query.transpose(1, 2)], dim=2)  # (B, C, 2C)
        residual = (x + self.bias.view(1, dim, 1, 1)).reshape(batch, dim, height * width)
        out = torch.baddbmm(residual, weight, qk.reshape(batch, 2 * dim, height * width))
        return out.view(batch, dim, height, width)


class FusedSwiftFormerEncoder(nn.Sequential):
    """The deploy form of :class:`~.blocks.SwiftFormerEncoder`: three residual blocks in a row,
    ``local -> x + attn -> x + mlp`` (no stochastic depth: an inference form)."""

    def __init__(self, dim: int, hidden_dim: int):
        super().__init__()
        self.local_representation = FusedResidualMlp(dim, dim, with_dwconv=True)
        self.attn = FusedAdditiveAttention(dim)
        self.mlp = FusedResidualMlp(dim, hidden_dim, with_dwconv=False)


class FusedStem(nn.Sequential):
    """The stem with both BatchNorms folded: conv, ReLU, conv, ReLU (``stem.0``, ``stem.2``)."""

    def __init__(self, out_channels: int, in_channels: int = 3):
        mid = out_channels // 2
        super().__init__(
            nn.Conv2d(in_channels, mid, 3, stride=2, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(mid, out_channels, 3, stride=2, padding=1), nn.ReLU(inplace=True))


class FusedStage(nn.Module):
    """The deploy form of :class:`~.blocks.Stage`: an optional stride-2 conv (the downsample
    with its BN folded), ``depth - 1`` fused conv encoders and one fused SwiftFormer encoder."""

    def __init__(self, in_channels: int, dim: int, depth: int, downsample: bool, hidden_dim: int):
        super().__init__()
        self.downsample = nn.Conv2d(in_channels, dim, 3, stride=2, padding=1) if downsample else None
        blocks = [FusedResidualMlp(dim, hidden_dim, with_dwconv=True) for _ in range(depth - 1)]
        blocks.append(FusedSwiftFormerEncoder(dim, hidden_dim))
        self.blocks = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.downsample is not None:
            x = self.downsample(x)
        return self.blocks(x)
