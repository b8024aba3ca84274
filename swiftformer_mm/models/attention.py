"""Efficient additive attention (SwiftFormer paper, Sec. 3.2, Eq. 3-5).

The paper writes it on tokens ``x`` of shape (N, C)::

    Q = normalize(x W_q)            K = normalize(x W_k)        (L2 over C)
    alpha = normalize(Q w_a / sqrt(C))                          (L2 over the N tokens)
    q = sum_n alpha_n Q_n                                       (one global query)
    out = T(q * K) + Q,  then a final linear layer.

Names here follow the official code: ``to_query`` = W_q, ``to_key`` = W_k,
``w_g`` = w_a, ``proj`` = T, ``final`` = the closing linear layer. The
L2-normalisation of ``alpha`` over tokens is the official v2 behaviour; the v1
code (and the HF transformers port) took a softmax over a size-1 axis instead,
which makes every weight 1.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class EfficientAdditiveAttention(nn.Module):
    """Efficient additive attention over all pixels of a (B, C, H, W) map.

    The map is read as H*W tokens of C channels, as the official code does,
    and the result is returned as a (B, C, H, W) map.

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
        batch, dim, height, width = x.shape
        tokens = x.permute(0, 2, 3, 1).reshape(batch, height * width, dim)  # (B, N, C)
        query = F.normalize(self.to_query(tokens), dim=-1)
        key = F.normalize(self.to_key(tokens), dim=-1)
        # token weights alpha (B, N, 1), unit L2 norm over the N tokens; one global query (B, 1, C)
        alpha = F.normalize(query @ self.w_g * self.scale, dim=1)
        global_query = (alpha * query).sum(dim=1, keepdim=True)
        out = self.final(self.proj(global_query * key) + query)
        return out.transpose(1, 2).reshape(batch, dim, height, width)
