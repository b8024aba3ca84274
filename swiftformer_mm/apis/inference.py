"""A trained detector or segmentor of a config, ready to predict, as ``init_detector`` and
``init_model`` of mmdet and mmseg give, with three differences:

- the checkpoint is loaded strictly: one of another task, variant or head is a
  :class:`~swiftformer_mm.checkpoint.CheckpointError` naming the first keys and the likely
  cause (the libraries load it leniently and predict with randomly initialised layers);
- the class names and palette come from the checkpoint (``meta['dataset_meta']``, as
  ``tools/train.py`` saves them), completed by the config's test data set;
- ``deploy=True`` folds every SwiftFormer into its deploy form after loading; ``compile=True``
  and ``cuda_graphs=True`` then compile backbone and neck (and a segmentor's decode head) and/or
  replay them as CUDA graphs.

:func:`inference_model` predicts on image files or arrays with the config's test pipeline
(for detection without its annotation loading step, which a bare image has nothing for).
"""
import copy
import warnings
from typing import Optional, Union

import numpy as np
import torch.nn as nn
from mmengine.config import Config

from ..checkpoint.fit import load_whole_model
from ..config import dataset_metainfo, first_test_dataset, load_config, task_of
from ..models import switch_to_deploy
from ..ops.fast_inference import fast_inference


def config_metainfo(cfg: Config) -> dict:
    """:func:`~swiftformer_mm.config.dataset_metainfo` of the config's (first) test data set."""
    return dataset_metainfo(cfg, first_test_dataset(cfg))


def dataset_meta(checkpoint: dict, cfg: Config) -> dict:
    """The checkpoint's ``meta['dataset_meta']``, completed by :func:`config_metainfo`."""
    saved = checkpoint.get('meta', {}).get('dataset_meta') or {}
    # mmdet 3.x expects lower-case keys; checkpoints of mmdet 2.x used CLASSES/PALETTE
    return {**config_metainfo(cfg), **{key.lower(): value for key, value in saved.items()}}


def init_model(config: Union[str, Config], checkpoint: Optional[str] = None, device: str = 'cpu',
               deploy: bool = False, compile: bool = False, cuda_graphs: bool = False,
               cfg_options: Optional[dict] = None) -> nn.Module:
    """The model of an mmdet or mmseg ``config`` (a path or a Config), in eval mode on ``device``.

    Args:
        checkpoint (str, optional): Loaded strictly (see the module docstring); without it,
            the weights are random and the classes those of the config's test data set.
        deploy (bool): Fold every SwiftFormer into its deploy form after loading.
        compile (bool): Compile backbone and neck (and a segmentor's decode head) with
            ``torch.compile``, once per input shape.
        cuda_graphs (bool): On a GPU, replay them as CUDA graphs, one per input
            shape (both: :func:`~swiftformer_mm.ops.fast_inference.fast_inference`).
        cfg_options (dict, optional): Merged into the config, as ``--cfg-options``.

    Raises:
        ConfigError: the config cannot be read, or is of neither library.
        CheckpointError: the checkpoint cannot be read or does not fit the model.
    """
    cfg = load_config(config, cfg_options) if isinstance(config, str) else copy.deepcopy(config)
    if cfg_options and not isinstance(config, str):
        cfg.merge_from_dict(cfg_options)
    if task_of(cfg) == 'det':
        from mmdet.apis import init_detector
        with warnings.catch_warnings():  # the classes are set below
            warnings.filterwarnings('ignore', message='checkpoint is None')
            model = init_detector(cfg, None, device=device)
    else:
        from mmseg.apis import init_model as init_segmentor
        model = init_segmentor(cfg, None, device=device)
    saved = load_whole_model(model, checkpoint) if checkpoint else {}
    if deploy:
        switch_to_deploy(model.eval())
    fast_inference(model.eval(), compile, cuda_graphs)
    model.dataset_meta = dataset_meta(saved, cfg)
    return model.eval()


def is_load_annotations(step: dict) -> bool:
    """Whether the pipeline step config ``step`` is a library's ``LoadAnnotations``."""
    return step['type'].split('.')[-1] == 'LoadAnnotations'


def inference_model(model: nn.Module, images):
    """The model's predictions (``DetDataSample`` / ``SegDataSample``) for one image or a list of
    them (file paths or BGR arrays), through mmdet's or mmseg's inference function."""
    if task_of(model.cfg) == 'det':
        from mmcv.transforms import Compose
        from mmdet.apis import inference_detector
        from mmdet.utils import get_test_pipeline_cfg
        steps = [step for step in get_test_pipeline_cfg(model.cfg) if not is_load_annotations(step)]
        first = images[0] if isinstance(images, (list, tuple)) else images
        if isinstance(first, np.ndarray):  # arrays: mmdet's loading step for them
            steps[0] = dict(steps[0], type='mmdet.LoadImageFromNDArray')
        return inference_detector(model, images, test_pipeline=Compose(steps))
    from mmseg.apis import inference_model as inference_segmentor
    return inference_segmentor(model, images)
