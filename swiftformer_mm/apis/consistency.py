"""Mismatches between a config's heads and its data sets, found before anything is built.

A head with another ``num_classes`` than its data set has classes trains and
evaluates without an error in mmdet and mmseg (the extra logits are never a
target, or labels beyond the head index past it on a GPU), and the metrics are
wrong. The classes of a data set are its ``metainfo.classes`` or, without one,
the ``METAINFO`` of its registered class (80 for ``CocoDataset``, 150 for
``ADE20KDataset``).
"""
from typing import Iterator, List, Optional, Tuple

from mmengine.config import Config

from .config import ConfigError
from .data_checks import _loader_datasets
from .task import task_of

# heads whose num_classes is not the number of the data set's classes: an RPN proposes objects
# of any class; HTC's semantic head segments COCO-stuff's 183 classes
OTHER_CLASSES = ('rpn_head', 'semantic_head')


def _num_classes(node, where: str) -> Iterator[Tuple[str, int]]:
    """(config key, value) of every ``num_classes`` under ``node`` but in :data:`OTHER_CLASSES`."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == 'num_classes' and isinstance(value, int):
                yield f'{where}.num_classes', value
            elif key not in OTHER_CLASSES:
                yield from _num_classes(value, f'{where}.{key}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _num_classes(value, f'{where}.{i}')


def dataset_classes(dataset: dict, task: str) -> Optional[List[str]]:
    """The class names a data set config will have (``None`` when its type is unknown)."""
    classes = (dataset.get('metainfo') or {}).get('classes')
    if classes is not None:
        return list(classes)
    if task == 'det':
        from mmdet.registry import DATASETS
    else:
        from mmseg.registry import DATASETS
    dataset_type = DATASETS.get(dataset.get('type')) if isinstance(dataset.get('type'), str) else None
    classes = getattr(dataset_type, 'METAINFO', {}).get('classes')
    return None if classes is None else list(classes)


def check_num_classes(cfg: Config, splits: List[str]) -> None:
    """Fails when a head's ``num_classes`` differs from the number of classes of a data set of ``splits``.

    Raises:
        ConfigError: naming both config keys and both numbers.
    """
    heads = list(_num_classes(cfg.get('model') or {}, 'model'))
    if not heads:
        return
    task = task_of(cfg)
    loaders = {split: cfg.get(f'{split}_dataloader') for split in splits if cfg.get(f'{split}_cfg') is not None}
    for _, where, dataset in _loader_datasets(loaders):
        classes = dataset_classes(dataset, task)
        if classes is None:
            continue
        for key, value in heads:
            if value != len(classes):
                raise ConfigError(
                    f'{key} is {value}, but {where} has {len(classes)} classes ({", ".join(classes[:5])}'
                    f'{", ..." if len(classes) > 5 else ""}): set {key}={len(classes)}, or the '
                    f"data set's metainfo.classes to the classes the head was built for")
