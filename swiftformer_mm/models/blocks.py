"""The building blocks of SwiftFormer's training form (paper Sec. 3.3, Fig. 3), written plainly.

A stage is ``depth - 1`` :class:`ConvEncoder` blocks followed by one
:class:`SwiftFormerEncoder`. Every layer is an ``nn.Module`` called as one
(hooks, FLOP counters, quantisation and export see all of them), every map
is (B, C, H, W), in the memory layout the backbone chose (channels-last on a
CPU, NCHW elsewhere; see :class:`~.swiftformer.SwiftFormer`), and nothing
is computed in place. Every layer scale (the paper's
per-channel gamma) is a parameter of shape (C, 1, 1), as in the official
code. The folded inference form of these blocks is in :mod:`.deploy_blocks`.
"""
import torch
import torch.nn as nn
import torch.utils.checkpoint

from .attention import EfficientAdditiveAttention
from .norm import build_norm


class DropPath(nn.Module):
    """Stochastic depth: zeroes whole samples of a residual branch while training.

    Args:
        rate (float): Probability of dropping a sample's branch.
    """

    def __init__(self, rate: float = 0.0):
        super().__init__()
        self.rate = rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.rate == 0.0 or not self.training:
            return x
        keep = 1.0 - self.rate
        mask = x.new_empty((x.shape[0], ) + (1, ) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask / keep

    def extra_repr(self) -> str:
        return f'rate={self.rate}'


class ConvEncoder(nn.Module):
    """Residual depth-wise conv block: ``x + gamma * pw2(GELU(pw1(BN(dw3x3(x)))))``.

    Used twice in the paper: as the stage's conv encoder (``hidden_dim = 4C``)
    and as the SwiftFormer encoder's local representation (``hidden_dim = C``).
    Neither has stochastic depth in the official code. GELU is the exact one.

    Args:
        dim (int): Number of channels C.
        hidden_dim (int): Width of the point-wise bottleneck.
        norm_cfg (dict): Config of the norm after the depth-wise conv.
    """

    def __init__(self, dim: int, hidden_dim: int, norm_cfg: dict):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 3, padding=1, groups=dim)
        self.norm = build_norm(norm_cfg, dim)
        self.pwconv1 = nn.Conv2d(dim, hidden_dim, 1)
        self.act = nn.GELU()
        self.pwconv2 = nn.Conv2d(hidden_dim, dim, 1)
        self.layer_scale = nn.Parameter(torch.ones(dim, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.layer_scale * self.pwconv2(self.act(self.pwconv1(self.norm(self.dwconv(x)))))


class Mlp(nn.Module):
    """Channel MLP on (B, C, H, W) maps: ``fc2(GELU(fc1(BN(x))))`` with 1x1 convs."""

    def __init__(self, dim: int, hidden_dim: int, norm_cfg: dict):
        super().__init__()
        self.norm = build_norm(norm_cfg, dim)
        self.fc1 = nn.Conv2d(dim, hidden_dim, 1)
        self.act = nn.GELU()
        self.fc2 = nn.Conv2d(hidden_dim, dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(self.norm(x))))


class SwiftFormerEncoder(nn.Module):
    """Local representation, then additive attention and MLP, each residual.

    ``x = local(x); x = x + drop(gamma1 * attn(x)); x = x + drop(gamma2 * mlp(x))``,
    with stochastic depth on the attention and MLP branches only.

    Args:
        dim (int): Number of channels C.
        mlp_ratio (float): MLP hidden width as a multiple of C.
        norm_cfg (dict): Config of the norm layers.
        drop_path_rate (float): Stochastic depth rate of this block.
        layer_scale_init_value (float): Initial value of gamma1 and gamma2.
    """

    def __init__(self, dim: int, mlp_ratio: float, norm_cfg: dict, drop_path_rate: float,
                 layer_scale_init_value: float):
        super().__init__()
        self.local_representation = ConvEncoder(dim, dim, norm_cfg)
        self.attn = EfficientAdditiveAttention(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), norm_cfg)
        self.drop_path = DropPath(drop_path_rate)
        self.layer_scale_1 = nn.Parameter(torch.full((dim, 1, 1), layer_scale_init_value))
        self.layer_scale_2 = nn.Parameter(torch.full((dim, 1, 1), layer_scale_init_value))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.local_representation(x)
        x = x + self.drop_path(self.layer_scale_1 * self.attn(x))
        return x + self.drop_path(self.layer_scale_2 * self.mlp(x))


class Downsample(nn.Module):
    """Stride-2 3x3 conv and a norm between two stages (no activation)."""

    def __init__(self, in_channels: int, out_channels: int, norm_cfg: dict):
        super().__init__()
        self.proj = nn.Conv2d(in_channels, out_channels, 3, stride=2, padding=1)
        self.norm = build_norm(norm_cfg, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.proj(x))


class Stem(nn.Sequential):
    """Two stride-2 3x3 convs with BN and ReLU: stride 4, ``C1 / 2`` then ``C1`` channels.

    A ``Sequential`` so that its parameters are ``stem.{0,1,3,4}``, the
    indices of the official ``patch_embed``.
    """

    def __init__(self, out_channels: int, norm_cfg: dict, in_channels: int = 3):
        mid = out_channels // 2
        super().__init__(
            nn.Conv2d(in_channels, mid, 3, stride=2, padding=1), build_norm(norm_cfg, mid), nn.ReLU(),
            nn.Conv2d(mid, out_channels, 3, stride=2, padding=1), build_norm(norm_cfg, out_channels),
            nn.ReLU())


class Stage(nn.Module):
    """Optional :class:`Downsample`, then ``depth - 1`` conv encoders and one SwiftFormer encoder.

    Args:
        in_channels (int): Channels of the input; a downsample layer is built
            when ``downsample`` is True.
        dim (int): Channels of this stage.
        depth (int): Number of blocks.
        downsample (bool): Whether the stage starts with a stride-2 downsample.
        drop_path_rate (float): Stochastic depth rate of the SwiftFormer encoder
            (the conv encoders have none, as in the official code).
        mlp_ratio (float): MLP / conv-encoder hidden width as a multiple of ``dim``.
        norm_cfg (dict): Config of the norm layers.
        layer_scale_init_value (float): Initial gamma1/gamma2 of the SwiftFormer encoder.
        with_cp (bool): Activation checkpointing per block.
    """

    def __init__(self, in_channels: int, dim: int, depth: int, downsample: bool,
                 drop_path_rate: float, mlp_ratio: float, norm_cfg: dict,
                 layer_scale_init_value: float, with_cp: bool):
        super().__init__()
        self.downsample = Downsample(in_channels, dim, norm_cfg) if downsample else None
        blocks = [ConvEncoder(dim, int(dim * mlp_ratio), norm_cfg) for _ in range(depth - 1)]
        blocks.append(
            SwiftFormerEncoder(dim, mlp_ratio, norm_cfg, drop_path_rate, layer_scale_init_value))
        self.blocks = nn.Sequential(*blocks)
        self.with_cp = with_cp

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.downsample is not None:
            x = self.downsample(x)
        for block in self.blocks:
            if self.with_cp and x.requires_grad:
                x = torch.utils.checkpoint.checkpoint(block, x, use_reentrant=False)
            else:
                x = block(x)
        return x
