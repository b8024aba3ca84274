"""An mmseg segmentor as an ONNX graph: an image as the data pipeline loads it -> per-pixel logits.

The graph does what mmseg does at test time with a ``mode='whole'``
segmentor, padding aside: the data preprocessor's channel conversion
(``bgr_to_rgb``) and normalisation (``mean``, ``std``), then the network,
then a resize of the logits to the input's height and width (bilinear, with
the decode head's ``align_corners``). Its input ``image`` is therefore a
float (B, 3, H, W) batch with 0-255 values in the channel order of the
pipeline's ``LoadImageFromFile``: BGR, as ``mmcv.imread`` and ``cv2.imread``
give it. Its output ``seg_logits`` is (B, num_classes, H, W); the class map
is its argmax over dimension 1.
"""
import logging
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import print_log

from ..config import ConfigError, load_config, task_of
from ..checkpoint import require_checkpoint
from ..checkpoint.fit import load_whole_model
from ..models import switch_to_deploy
from .graph import IMAGE_AXES, Exportable


class ScaleUpsample(nn.Module):
    """mmseg's ``Upsample`` by a scale factor, with an output size a trace keeps symbolic.

    mmseg's computes the size as Python ints, which a trace records as
    constants of the export size. ``recompute_scale_factor=True`` gives the
    same size, ``floor(side * scale)``, and the same sampling grid.
    """

    def __init__(self, upsample: nn.Module):
        super().__init__()
        self.scale_factor = upsample.scale_factor
        self.mode = upsample.mode
        self.align_corners = upsample.align_corners

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=self.scale_factor, mode=self.mode,
                             align_corners=self.align_corners, recompute_scale_factor=True)


def replace_upsampling(model: nn.Module) -> None:
    """Swaps every size-less mmseg ``Upsample`` in ``model`` for a :class:`ScaleUpsample`."""
    from mmseg.models.utils import Upsample
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, Upsample) and not child.size:
                setattr(parent, name, ScaleUpsample(child))


class SegmentorGraph(nn.Module):
    """Preprocessing, network and resize of an ``EncoderDecoder`` (see the module docstring).

    Takes ``segmentor`` over (its upsampling layers are replaced in place,
    see :func:`replace_upsampling`).
    """

    def __init__(self, segmentor: nn.Module):
        super().__init__()
        preprocessor = segmentor.data_preprocessor
        self.bgr_to_rgb = bool(preprocessor.channel_conversion)
        if preprocessor._enable_normalize:
            mean, std = preprocessor.mean.reshape(1, 3, 1, 1), preprocessor.std.reshape(1, 3, 1, 1)
        else:
            mean, std = torch.zeros(1, 3, 1, 1), torch.ones(1, 3, 1, 1)
        self.register_buffer('mean', mean.clone().float())
        self.register_buffer('std', std.clone().float())
        replace_upsampling(segmentor)
        self.segmentor = segmentor

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        if self.bgr_to_rgb:
            image = image[:, [2, 1, 0]]
        logits = self.segmentor._forward((image - self.mean) / self.std)
        return F.interpolate(logits, size=image.shape[2:], mode='bilinear',
                             align_corners=self.segmentor.align_corners)


def build_segmentor(config: str, checkpoint: str, cfg_options: Optional[dict] = None) -> nn.Module:
    """The config's segmentor in eval mode with the checkpoint's weights (all keys must match).

    SyncBN layers become BatchNorm (they compute the same in eval mode).

    Raises:
        CheckpointError: the checkpoint does not exist or does not fit the segmentor.
        ConfigError: the config does not exist or is not an mmseg ``EncoderDecoder``.
    """
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import init_default_scope
    cfg = load_config(config, cfg_options)
    require_checkpoint(checkpoint)  # before the segmentor is built
    if task_of(cfg) != 'seg':
        raise ConfigError(f'{config} is a detection config; only mmseg segmentors are exported')
    init_default_scope('mmseg')
    from mmseg.models.segmentors import EncoderDecoder
    from mmseg.registry import MODELS
    model = MODELS.build(cfg.model)
    if not isinstance(model, EncoderDecoder):
        raise ConfigError(f'{config} builds a {type(model).__name__}; only EncoderDecoder '
                          'segmentors (and subclasses) are exported')
    if (cfg.model.get('test_cfg') or {}).get('mode', 'whole') != 'whole':
        print_log(f"{config} infers with test_cfg mode={cfg.model.test_cfg.mode!r}; the graph "
                  "infers on the whole image (mode='whole')", logger='current', level=logging.WARNING)
    load_whole_model(model, checkpoint)
    return revert_sync_batchnorm(model).eval()


def segmentor_exportable(config: str, checkpoint: str, deploy: bool = False,
                         cfg_options: Optional[dict] = None) -> Exportable:
    """The graph of :class:`SegmentorGraph` for a config and checkpoint (see :func:`build_segmentor`),
    with every SwiftFormer in its deploy form when ``deploy``."""
    model = build_segmentor(config, checkpoint, cfg_options)
    if deploy:
        switch_to_deploy(model)

    def sample(batch, size):
        return torch.randint(0, 256, (batch, 3, *size)).float()

    return Exportable(SegmentorGraph(model).eval(), 'image', {'seg_logits': IMAGE_AXES}, sample)
