"""What the tools check in a config before anything is built, so that a mismatch is one line.

- :func:`check_backbone`: a SwiftFormer backbone's argument names, ``arch`` and
  ``out_indices``, that the neck (or, without one, the decode head) takes the channels the
  backbone returns, and the pretrained file of ``init_cfg``;
- :func:`check_num_classes`: every head's ``num_classes`` against the classes of the data
  sets the run reads. mmdet and mmseg run a head with another ``num_classes`` than its data
  set has without an error, and the metrics are wrong. A data set's classes are those it
  builds (:func:`~swiftformer_mm.config.dataset_metainfo`): its ``metainfo.classes`` or,
  without one, the ``METAINFO`` of its registered class (80 for ``CocoDataset``, 150 for
  ``ADE20KDataset``).
"""
import difflib
import inspect
from typing import List, Tuple

from mmengine.config import Config

from ..checkpoint import CheckpointError, check_pretrained_exists
from ..config import ConfigError, dataset_metainfo, first_model_part, walk_config
from .data_checks import split_datasets

# heads whose num_classes is not the number of the data set's classes: an RPN proposes objects
# of any class; HTC's semantic head segments COCO-stuff's 183 classes
OTHER_CLASSES = ('rpn_head', 'semantic_head')


def _num_classes(model: dict) -> List[Tuple[str, int]]:
    """(config key, value) of every ``num_classes`` of ``model`` but those in :data:`OTHER_CLASSES`."""
    return [(key, value) for key, value in walk_config(model, 'model', skip=OTHER_CLASSES)
            if key.endswith('.num_classes') and isinstance(value, int)]


def check_num_classes(cfg: Config, splits: List[str]) -> None:
    """Fails when a head's ``num_classes`` differs from the number of classes of a data set of ``splits``.

    Raises:
        ConfigError: naming both config keys and both numbers.
    """
    heads = _num_classes(cfg.get('model') or {})
    if not heads:
        return
    for _, where, dataset in split_datasets(cfg, splits):
        classes = dataset_metainfo(cfg, dataset).get('classes')
        if classes is None:
            continue
        for key, value in heads:
            if value != len(classes):
                raise ConfigError(
                    f'{key} is {value}, but {where} has {len(classes)} classes ({", ".join(classes[:5])}'
                    f'{", ..." if len(classes) > 5 else ""}): set {key}={len(classes)}, or the '
                    f"data set's metainfo.classes to the classes the head was built for")


def _check_consumer_channels(cfg: Config, channels: list, arch) -> None:
    """The module fed by the backbone must expect ``channels`` (known before anything is built)."""
    where, consumer = first_model_part(cfg, 'neck')
    if not consumer:
        where, consumer = first_model_part(cfg, 'decode_head')
    expected = consumer.get('in_channels')
    if isinstance(expected, (list, tuple)) and list(expected) != channels:
        raise ConfigError(
            f'{where}.in_channels is {list(expected)}, but the SwiftFormer backbone (arch {arch!r}) returns '
            f'{channels} channels: set {where}.in_channels={channels} (e.g. --cfg-options '
            f'"{where}.in_channels={channels}"), or the arch the config was written for')


def check_backbone(cfg: Config, pretrained: bool = True) -> None:
    """Fails before anything is built when a SwiftFormer backbone's config is wrong.

    Checks the argument names (a typo is named, with the closest valid
    name), the ``arch`` and ``out_indices`` values, that the neck (or, without
    one, the decode head) takes the channels the backbone returns, and, with ``pretrained``
    (training, which initialises from it), that the pretrained file of
    ``init_cfg`` exists.

    Raises:
        ConfigError: naming the problem and what to do.
    """
    from ..models import SwiftFormer
    backbone = cfg.get('model', {}).get('backbone') or {}
    if backbone.get('type') != 'SwiftFormer':
        return
    valid = [name for name in inspect.signature(SwiftFormer).parameters if name != 'self']
    for name in backbone:
        if name != 'type' and name not in valid:
            close = difflib.get_close_matches(name, valid, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ''
            raise ConfigError(f"model.backbone: SwiftFormer has no argument '{name}'; {hint}"
                              f'its arguments are {", ".join(valid)}')
    try:
        channels = SwiftFormer.output_channels(backbone.get('arch', 'l1'), backbone.get('out_indices', (0, 1, 2, 3)))
    except ValueError as error:
        raise ConfigError(f'model.backbone: {error}') from None
    _check_consumer_channels(cfg, channels, backbone.get('arch', 'l1'))
    init_cfg = backbone.get('init_cfg') or {}
    if pretrained and init_cfg.get('type') == 'Pretrained':
        try:
            check_pretrained_exists(init_cfg['checkpoint'])
        except CheckpointError as error:
            raise ConfigError(str(error)) from None
