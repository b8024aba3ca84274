"""The deploy form's CPU kernels: channels-last memory, chunked MLPs, in-place arithmetic.

On a CPU these pay (see ``tools/analysis_tools/benchmark.py``); on a GPU they would cost
(hundreds of small matrix products, full-fp32 GEMMs instead of cuDNN), so
the deploy form takes them only when :func:`applies`. Each computes exactly
what the plain path of its deploy block computes, up to float rounding.

- Channels-last maps (NHWC) make every pixel's channel vector a contiguous
  row, so a 1x1 conv is one matrix product on a view, without a copy.
- :func:`residual_mlp` runs ``x + fc2(GELU(fc1(spatial(x))))`` over chunks of
  pixels, so that the 4x wider hidden activations stay in cache and are never
  allocated in full; GELU and the residual are applied in place (the layer
  scale is folded into ``fc2``).
- :func:`additive_attention` is the folded attention on a token view, with
  its normalisations done in place.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .inference_only import ops_only_run

# pixels per chunk of residual_mlp: 2**20 hidden values (4 MiB in fp32) per chunk
HIDDEN_VALUES_PER_CHUNK = 2**20


def applies(x: torch.Tensor) -> bool:
    """Whether the deploy form runs these kernels on ``x``.

    They do on a CPU tensor when nothing needs the plain ops: no autograd
    recording, no autocast, no trace, compile or ONNX export (those record
    ops, and the chunked loop and in-place writes would not survive them).
    """
    return x.device.type == 'cpu' and not torch.is_autocast_enabled('cpu') and ops_only_run()


def to_channels_last(x: torch.Tensor) -> torch.Tensor:
    """``x`` in channels-last memory (no copy when it already is)."""
    return x.contiguous(memory_format=torch.channels_last)


def _tokens(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) channels-last -> (B*H*W, C), a view."""
    return x.permute(0, 2, 3, 1).reshape(-1, x.shape[1])


def residual_mlp(x: torch.Tensor, spatial: nn.Module, fc1: nn.Conv2d, fc2: nn.Conv2d) -> torch.Tensor:
    """``x + fc2(GELU(fc1(spatial(x))))`` with 1x1 convs ``fc1``, ``fc2``, in chunks of pixels.

    Returns a new channels-last map; ``x`` is left as it is.
    """
    x = to_channels_last(x)
    inner = to_channels_last(spatial(x))
    out = torch.empty_like(x, memory_format=torch.channels_last)
    inputs, residuals, outputs = _tokens(inner), _tokens(x), _tokens(out)
    weight1, weight2 = fc1.weight.flatten(1).t(), fc2.weight.flatten(1).t()
    chunk = min(inputs.shape[0], max(256, HIDDEN_VALUES_PER_CHUNK // fc1.out_channels))
    # one hidden buffer for all chunks: a fresh one per chunk costs page faults
    hidden_buffer = x.new_empty((chunk, fc1.out_channels))
    for start in range(0, inputs.shape[0], chunk):
        rows = slice(start, start + chunk)
        block = inputs[rows]
        hidden = hidden_buffer[:block.shape[0]]
        torch.addmm(fc1.bias, block, weight1, out=hidden)
        torch.ops.aten.gelu_(hidden)
        result = outputs[rows]
        torch.addmm(fc2.bias, hidden, weight2, out=result)
        result.add_(residuals[rows])
    return out


def additive_attention(x: torch.Tensor, qk_weight: torch.Tensor, qk_bias: torch.Tensor,
                       token_weight: torch.Tensor, query_out: torch.Tensor, key_out: torch.Tensor,
                       bias: torch.Tensor) -> torch.Tensor:
    """The folded ``x + g1 * attn(x)`` of :class:`~swiftformer_mm.models.deploy_blocks.FusedAdditiveAttention`
    on the tokens (B, N, C) of a channels-last map; returns a channels-last map."""
    x = to_channels_last(x)
    batch, dim, height, width = x.shape
    tokens = x.permute(0, 2, 3, 1).reshape(batch, height * width, dim)  # a view
    qk = F.linear(tokens, qk_weight, qk_bias).view(batch, -1, 2, dim)
    qk.div_(torch.linalg.vector_norm(qk, dim=3, keepdim=True).clamp_min_(1e-12))  # F.normalize
    qk = qk.flatten(2)  # (B, N, 2C): [q | k] of each token
    query = qk[..., :dim]
    # token weights alpha (B, 1, N) with unit L2 norm over the N tokens; global query (B, 1, C)
    alpha = F.normalize(torch.matmul(query, token_weight), dim=1).unsqueeze(1)
    global_query = torch.bmm(alpha, query)
    weight = torch.cat([query_out.expand(batch, dim, dim), key_out * global_query], dim=2)
    out = torch.baddbmm(tokens + bias, qk, weight.transpose(1, 2))
    return out.view(batch, height, width, dim).permute(0, 3, 1, 2)

