"""The tensor operations of SwiftFormer's blocks, each in its fastest exact form.

- :func:`pointwise`: a 1x1 conv. A 1x1 conv is a linear map of every pixel's
  channel vector. On a map in channels-last memory (NHWC, what
  :class:`SwiftFormer` computes in by default) those vectors are contiguous
  rows, so ``F.linear`` on a permuted view is one matrix product without a
  copy, faster on CPUs than the convolution kernels; an NCHW map goes
  through ``F.conv2d``.
- :func:`gelu` and :func:`scaled_residual`: the exact (erf) GELU and
  ``x + drop_path(gamma * branch)``, computed in place when autograd does not
  need the input (inference). That saves allocating, and on CPUs
  page-faulting, a new tensor as large as the activation each time.
- :func:`pointwise_mlp`: ``residual + gamma * fc2(GELU(fc1(x)))``. Without
  autograd, on a channels-last map, it runs over chunks of pixels, so that
  the 4x wider hidden activations stay in cache and are never allocated
  in full.
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

# pixels per chunk of pointwise_mlp: 2**20 hidden values (4 MiB in fp32) per chunk
HIDDEN_VALUES_PER_CHUNK = 2**20


def drop_path(x: torch.Tensor, rate: float, training: bool) -> torch.Tensor:
    """Stochastic depth: zeroes whole samples of a residual branch."""
    if rate == 0.0 or not training:
        return x
    keep = 1.0 - rate
    mask = x.new_empty((x.shape[0], ) + (1, ) * (x.ndim - 1)).bernoulli_(keep)
    return x * mask.div_(keep)


def is_channels_last(x: torch.Tensor) -> bool:
    """Whether the channels of the NCHW-shaped ``x`` are its innermost (stride-1) dimension."""
    return x.stride(1) == 1


def pointwise(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``x`` (B, C_in, H, W) through a 1x1 conv with ``weight`` (C_out, C_in) or (C_out, C_in, 1, 1).

    The result has the memory format of ``x``.
    """
    weight = weight.flatten(1)
    if is_channels_last(x):
        return F.linear(x.permute(0, 2, 3, 1), weight, bias).permute(0, 3, 1, 2)
    return F.conv2d(x, weight[:, :, None, None], bias)


def autograd_records(*tensors: Optional[torch.Tensor]) -> bool:
    """Whether the plain out-of-place ops are needed: autograd records one of ``tensors``, or
    ``torch.compile`` traces (it fuses the plain ops itself)."""
    if torch.compiler.is_compiling():
        return True
    return torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)


def gelu(x: torch.Tensor) -> torch.Tensor:
    """Exact GELU (``approximate='none'``); overwrites ``x`` unless autograd records it.

    ``x`` must be a fresh result that nothing else refers to.
    """
    return F.gelu(x) if autograd_records(x) else torch.ops.aten.gelu_(x)


def scaled_residual(x: torch.Tensor, branch: torch.Tensor, scale: torch.Tensor,
                    drop_path_rate: float = 0.0, training: bool = False) -> torch.Tensor:
    """``x + drop_path(scale * branch)``; overwrites ``branch`` unless autograd records it.

    ``branch`` must be a fresh result that nothing else refers to.
    """
    if (autograd_records(x, branch, scale) or (training and drop_path_rate > 0)
            or branch.dtype != x.dtype):  # under autocast: keep the residual stream's precision
        return x + drop_path(scale * branch, drop_path_rate, training)
    return branch.mul_(scale).add_(x)


def pointwise_mlp(x: torch.Tensor, fc1: nn.Conv2d, fc2: nn.Conv2d,
                  residual: Optional[torch.Tensor] = None,
                  scale: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``residual + scale * fc2(GELU(fc1(x)))`` for 1x1 convs; ``residual``, ``scale`` optional.

    Without autograd and autocast, on a channels-last ``x``, the pixels go
    through in chunks (the same arithmetic per pixel); otherwise the ops run
    one after the other on the whole map.
    """
    if (not is_channels_last(x) or torch.is_autocast_enabled(x.device.type)
            or autograd_records(x, residual, scale, fc1.weight, fc1.bias, fc2.weight, fc2.bias)):
        branch = _mlp_branch(x, fc1, fc2)
        if scale is not None and residual is not None:
            return scaled_residual(residual, branch, scale)
        branch = branch if scale is None else branch * scale
        return branch if residual is None else branch + residual
    return _chunked_pointwise_mlp(x, fc1, fc2, residual, scale)


def _mlp_branch(x: torch.Tensor, fc1: nn.Conv2d, fc2: nn.Conv2d) -> torch.Tensor:
    """``fc2(GELU(fc1(x)))`` on the whole map, in the memory format of ``x``.

    On a channels-last map the GELU runs on the hidden tokens (B, H, W, C'),
    a contiguous tensor: ATen's GELU and its backward take ~1.7x longer on the
    same memory seen as a channels-last (B, C', H, W) view.
    """
    if not is_channels_last(x):
        return pointwise(gelu(pointwise(x, fc1.weight, fc1.bias)), fc2.weight, fc2.bias)
    hidden = gelu(F.linear(x.permute(0, 2, 3, 1), fc1.weight.flatten(1), fc1.bias))
    return F.linear(hidden, fc2.weight.flatten(1), fc2.bias).permute(0, 3, 1, 2)


def _tokens(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) channels-last -> (B*H*W, C), a view."""
    return x.permute(0, 2, 3, 1).reshape(-1, x.shape[1])


def _chunked_pointwise_mlp(x, fc1, fc2, residual, scale):
    batch, _, height, width = x.shape
    out = torch.empty((batch, fc2.out_channels, height, width), dtype=x.dtype, device=x.device,
                      memory_format=torch.channels_last)
    inputs, outputs = _tokens(x), _tokens(out)
    residuals = None if residual is None else _tokens(residual)
    scale = None if scale is None else scale.reshape(-1)
    weight1, weight2 = fc1.weight.flatten(1).t(), fc2.weight.flatten(1).t()
    chunk = min(inputs.shape[0], max(256, HIDDEN_VALUES_PER_CHUNK // fc1.out_channels))
    # one hidden buffer for all chunks: a fresh one per chunk costs page faults
    hidden_buffer = x.new_empty((chunk, fc1.out_channels))
    for start in range(0, inputs.shape[0], chunk):
        rows = slice(start, start + chunk)
        block = inputs[rows]
        hidden = hidden_buffer[:block.shape[0]]
        _linear(block, weight1, fc1.bias, out=hidden)
        torch.ops.aten.gelu_(hidden)
        result = outputs[rows]
        _linear(hidden, weight2, fc2.bias, out=result)
        if scale is not None:
            result.mul_(scale)
        if residuals is not None:
            result.add_(residuals[rows])
    return out


def _linear(x: torch.Tensor, weight_t: torch.Tensor, bias: Optional[torch.Tensor], out: torch.Tensor) -> None:
    if bias is None:
        torch.mm(x, weight_t, out=out)
    else:
        torch.addmm(bias, x, weight_t, out=out)
