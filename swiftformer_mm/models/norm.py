"""Builds the normalisation layers from an mm-style ``norm_cfg``.

Kept local (instead of ``mmcv.cnn.build_norm_layer``) so that the backbone
imports with torch and mmengine alone. Every norm in SwiftFormer is a
BatchNorm; ``SyncBN`` is its multi-GPU form.
"""
import torch.nn as nn

NORM_LAYERS = {'BN': nn.BatchNorm2d, 'BN2d': nn.BatchNorm2d, 'SyncBN': nn.SyncBatchNorm}


def build_norm(norm_cfg: dict, num_features: int) -> nn.Module:
    """Builds a norm layer, e.g. ``dict(type='BN', eps=1e-5, requires_grad=True)``."""
    cfg = dict(norm_cfg)
    norm_type = cfg.pop('type', None)
    if norm_type not in NORM_LAYERS:
        raise ValueError(f'norm type {norm_type!r} is not supported by SwiftFormer; '
                         f'use one of {sorted(NORM_LAYERS)}')
    requires_grad = cfg.pop('requires_grad', True)
    layer = NORM_LAYERS[norm_type](num_features, **cfg)
    for param in layer.parameters():
        param.requires_grad = requires_grad
    return layer
