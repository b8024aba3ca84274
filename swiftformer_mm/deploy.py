"""Switches every SwiftFormer inside a model (a backbone, a detector, a segmentor) to its deploy form.

Example::

    from swiftformer_mm.deploy import switch_to_deploy
    detector = MODELS.build(cfg.model)   # mmdet's registry
    load_checkpoint(detector, 'epoch_12.pth')
    switch_to_deploy(detector.eval())    # same predictions, faster backbone

See :meth:`swiftformer_mm.SwiftFormer.switch_to_deploy` for what is folded
and the rules (eval mode only; the result cannot be trained).
"""
import torch.nn as nn

from .models import SwiftFormer


def switch_to_deploy(model: nn.Module) -> nn.Module:
    """Switches every :class:`SwiftFormer` in ``model`` in place and returns ``model``.

    Raises:
        ValueError: ``model`` contains no SwiftFormer.
        RuntimeError: a SwiftFormer in it is in training mode.
    """
    backbones = [module for module in model.modules() if isinstance(module, SwiftFormer)]
    if not backbones:
        raise ValueError(f'{type(model).__name__} contains no SwiftFormer to switch to deploy form')
    for backbone in backbones:
        backbone.switch_to_deploy()
    return model
