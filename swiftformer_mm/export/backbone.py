"""The SwiftFormer backbone as an ONNX graph: a normalised image -> four feature maps."""
from typing import Optional, Union

import torch

from ..checkpoint import load_pretrained, require_checkpoint
from ..models import SwiftFormer
from .graph import Exportable


def backbone_exportable(arch: Union[str, dict] = 'l1', checkpoint: Optional[str] = None,
                        deploy: bool = False) -> Exportable:
    """A SwiftFormer in eval mode, with weights from ``checkpoint`` (any format the backbone
    loads; random weights without it), in its deploy form when ``deploy``.

    The graph's input ``input`` is a normalised image batch (B, 3, H, W);
    its outputs ``stage0..stage3`` are the maps of strides 4, 8, 16 and 32.

    Raises:
        CheckpointError: ``checkpoint`` does not exist or does not fit.
    """
    if checkpoint is not None:
        require_checkpoint(checkpoint)
    model = SwiftFormer(arch=arch)
    if checkpoint is not None:
        load_pretrained(model, checkpoint, strict=True)
    model.eval()
    if deploy:
        model.switch_to_deploy()
    axes = {f'stage{i}': {0: 'batch', 2: f'stage{i}_height', 3: f'stage{i}_width'}
            for i in model.out_indices}
    return Exportable(model, 'input', axes, lambda batch, size: torch.randn(batch, 3, *size))
