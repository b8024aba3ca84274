"""Efficient additive attention (SwiftFormer paper, Sec. 3.2, Eq. 3-5).

The paper writes it on tokens ``x`` of shape (N, C)::

    Q = normalize(x W_q)            K = normalize(x W_k)        (L2 over C)
    alpha = normalize(Q w_a / sqrt(C))                          (L2 over the N tokens)
    q = sum_n alpha_n Q_n                                       (one global query)
    out = T(q * K) + Q_hat,  then a final linear layer.

Names here follow the official code: ``to_query`` = W_q, ``to_key`` = W_k,
``w_g`` = w_a, ``proj`` = T, ``final`` = the closing linear layer. The
L2-normalisation of ``alpha`` over tokens is the official v2 behaviour; the v1
code (and the HF transformers port) took a softmax over a size-1 axis instead,
which makes every weight 1.

The module works directly on NCHW-shaped feature maps, in either memory
format: the linear layers run as 1x1 convolutions (matrix products on
channels-last maps, see :func:`.ops.pointwise`) on their (out, in) weights, so
there is no permute to tokens and back, and the parameters keep the shapes
of the official ``nn.Linear`` layers (checkpoints load unchanged).

Without autograd and autocast, on a channels-last map, the same arithmetic
runs on a token view with four activation-sized results instead of nine:
one product makes ``[Q | K]``, the normalisations and the scaling of K by
the global query are done in place.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .ops import autograd_records, is_channels_last, pointwise


def _pointwise(x: torch.Tensor, linear: nn.Linear) -> torch.Tensor:
    """Applies ``linear`` to every pixel of the map ``x`` (a 1x1 conv)."""
    return pointwise(x, linear.weight, linear.bias)


class EfficientAdditiveAttention(nn.Module):
    """Efficient additive attention over all pixels of a (B, C, H, W) map.

    Args:
        dim (int): Number of channels C.
    """

    def __init__(self, dim: int):
        super().__init__()
        self.to_query = nn.Linear(dim, dim)
        self.to_key = nn.Linear(dim, dim)
        self.w_g = nn.Parameter(torch.randn(dim, 1))
        self.scale = dim**-0.5
        self.proj = nn.Linear(dim, dim)
        self.final = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (is_channels_last(x) and not torch.is_autocast_enabled(x.device.type)
                and not autograd_records(x, *self.parameters())):
            return self._forward_in_place(x)
        query = F.normalize(_pointwise(x, self.to_query), dim=1)
        key = F.normalize(_pointwise(x, self.to_key), dim=1)
        # token weights alpha: (B, 1, H, W), unit L2 norm over all H*W tokens
        alpha = torch.einsum('bchw,c->bhw', query, self.w_g[:, 0] * self.scale)
        alpha = F.normalize(alpha.flatten(1), dim=1).view_as(alpha).unsqueeze(1)
        global_query = (alpha * query).sum(dim=(2, 3), keepdim=True)
        out = _pointwise(global_query * key, self.proj) + query
        return _pointwise(out, self.final)

    def _forward_in_place(self, x: torch.Tensor) -> torch.Tensor:
        batch, dim, height, width = x.shape
        tokens = x.permute(0, 2, 3, 1).reshape(batch, height * width, dim)  # a view
        qk_weight = torch.cat([self.to_query.weight, self.to_key.weight])
        qk_bias = torch.cat([self.to_query.bias, self.to_key.bias])
        qk = F.linear(tokens, qk_weight, qk_bias).view(batch, -1, 2, dim)
        qk.div_(torch.linalg.vector_norm(qk, dim=3, keepdim=True).clamp_min_(1e-12))  # F.normalize
        query, key = qk[:, :, 0], qk[:, :, 1]
        alpha = F.normalize(torch.matmul(query, self.w_g[:, 0] * self.scale), dim=1)  # (B, N)
        global_query = torch.bmm(alpha.unsqueeze(1), query)  # (B, 1, C)
        out = F.linear(key.mul_(global_query), self.proj.weight, self.proj.bias).add_(query)
        out = F.linear(out, self.final.weight, self.final.bias)
        return out.view(batch, height, width, dim).permute(0, 3, 1, 2)
