"""The peers: HF transformers' and timm's SwiftFormer, and ResNet-50.

Each is imported only here, when its row is built; a peer whose package does
not import is left out with a note saying why.
"""
from dataclasses import replace
from typing import List, Optional, Tuple

import torch
import torch.nn as nn

from ..models import SwiftFormer
from .candidates import Candidate, eval_mode
from .dense_part import DensePart, with_dense_part


def _import_error(error: BaseException) -> str:
    return f'{type(error).__name__}: {error}'


class HFBackbone(nn.Module):
    """HF transformers' ``SwiftFormerModel`` (random weights) returning its four stage outputs."""

    def __init__(self, depths: List[int], widths: List[int]):
        super().__init__()
        from transformers import SwiftFormerConfig, SwiftFormerModel
        self.model = SwiftFormerModel(SwiftFormerConfig(depths=depths, embed_dims=widths))

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        hidden = self.model(pixel_values=x, output_hidden_states=True, return_dict=False)[1]
        # hidden = (input to the encoder, stage 0, downsample, stage 1, ..., stage 3)
        return tuple(hidden[i] for i in (1, 3, 5, 7))


class TorchvisionTrunk(nn.Module):
    """A torchvision ResNet without pooling and classifier, returning its four stage outputs."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.stem = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool)
        self.stages = nn.ModuleList([net.layer1, net.layer2, net.layer3, net.layer4])

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        x = self.stem(x)
        outs = []
        for stage in self.stages:
            x = stage(x)
            outs.append(x)
        return tuple(outs)


def hf_candidate(arch: str, notes: List[str]) -> Optional[Candidate]:
    """HF's ``SwiftFormerModel`` with the depths and widths of ``arch``, or None (noted)."""
    name = f'HF SwiftFormer-{arch.upper()}'
    try:
        from transformers import SwiftFormerModel  # noqa: F401
    except Exception as error:
        notes.append(f'{name}: skipped (transformers does not import: {_import_error(error)})')
        return None
    settings = SwiftFormer.arch_settings[arch]
    return Candidate(name, 'transformers', lambda: eval_mode(HFBackbone(settings['depths'], settings['widths'])),
                     f'{arch}-hf', arch, peer='hf', trainable=True)


def timm_candidate(arch: str, notes: List[str]) -> Optional[Candidate]:
    """timm's ``swiftformer_{arch}`` as a 4-map backbone (``features_only``), or None (noted)."""
    name, timm_name = f'timm SwiftFormer-{arch.upper()}', f'swiftformer_{arch}'
    try:
        import timm
    except Exception as error:
        notes.append(f'{name}: skipped (timm does not import: {_import_error(error)})')
        return None

    def build() -> nn.Module:
        return eval_mode(timm.create_model(timm_name, pretrained=False, features_only=True))

    try:
        build()  # fails here, not mid-run, where this timm lacks the model or its features_only form
    except Exception as error:
        notes.append(f'{name}: skipped (timm.create_model({timm_name!r}, features_only=True) failed: '
                     f'{_import_error(error)})')
        return None
    return Candidate(name, 'timm', build, f'{arch}-timm', arch, peer='timm', trainable=True)


def compiled_timm_candidate(timm: Candidate) -> Candidate:
    """``timm`` in the best inference form a user can give it: ``torch.compile`` with
    ``mode='reduce-overhead'`` (Inductor's kernels replayed as CUDA graphs on a GPU), the
    yardstick of the fast inference mode (issue 13). Inference only."""
    return Candidate(timm.model, 'timm, compiled (reduce-overhead)', timm.build, timm.macs_key, timm.arch,
                     peer='timm+compile', compile=True, compile_mode='reduce-overhead')


def resnet50_candidate(notes: List[str]) -> Optional[Candidate]:
    """ResNet-50 returning its four stage outputs: mmdet's when mmdet imports, else torchvision's
    trunk, else None (noted). Both train their batch norms (mmdet's ``norm_eval=False``)."""
    try:
        from mmdet.models.backbones import ResNet
    except Exception as error:
        mmdet_error = _import_error(error)
    else:
        return Candidate('ResNet-50', 'mmdet', lambda: eval_mode(ResNet(depth=50, norm_eval=False)),
                         'resnet50', peer='r50', trainable=True)
    try:
        from torchvision.models import resnet50
    except Exception as error:
        notes.append(f'ResNet-50: skipped (mmdet does not import: {mmdet_error}; torchvision does not '
                     f'import: {_import_error(error)})')
        return None
    return Candidate('ResNet-50', 'torchvision', lambda: eval_mode(TorchvisionTrunk(resnet50())), 'resnet50',
                     peer='r50', trainable=True)



def peer_with_dense_part(candidate: Candidate, dense: DensePart) -> Candidate:
    """A peer's row with the neck (and head) after its backbone (``--with-neck``)."""
    return replace(candidate, model=f'{candidate.model} + {dense.name}', macs_key=f'{candidate.macs_key}+{dense.name}',
                   build=lambda: with_dense_part(candidate.build, dense))
