"""What the tools check and add to a config's data sets before the Runner is built.

- :func:`check_data_paths`: the data root, annotation file and image and
  label folders of every data set the run will read exist, so that a wrong
  path is named before any model is built or any iteration runs;
- :func:`guard_pipelines` (on the built Runner): the pipeline steps of
  :mod:`swiftformer_mm.data.guards`, so that an unreadable image or an
  out-of-range label is an error naming its file.
"""
import os.path as osp
from typing import Dict, Iterator, List, Tuple

from mmengine.config import Config, ConfigDict
from mmengine.runner import Runner

from .config import ConfigError

IMAGE_LOADERS = ('LoadImageFromFile', 'mmcv.LoadImageFromFile', 'mmdet.LoadImageFromFile',
                 'mmseg.LoadImageFromFile')
SEG_ANNOTATION_LOADERS = ('LoadAnnotations', 'mmseg.LoadAnnotations')


def _datasets(node, where: str) -> Iterator[Tuple[str, ConfigDict]]:
    """The leaf data set configs under ``node`` (through ConcatDataset, RepeatDataset, ...)."""
    if not isinstance(node, dict):
        return
    if 'datasets' in node:
        for i, child in enumerate(node['datasets']):
            yield from _datasets(child, f'{where}.datasets.{i}')
    elif 'dataset' in node:
        yield from _datasets(node['dataset'], f'{where}.dataset')
    else:
        yield where, node


def _loader_datasets(loaders: Dict[str, dict]) -> Iterator[Tuple[str, str, ConfigDict]]:
    """(split, config key of the data set, data set config) of every data set of ``loaders``,
    a mapping from split names to data loader configs."""
    for split, loader in loaders.items():
        if isinstance(loader, dict) and loader.get('dataset'):
            for where, dataset in _datasets(loader['dataset'], f'{split}_dataloader.dataset'):
                yield split, where, dataset


def _resolve(data_root: str, path: str) -> str:
    return path if (osp.isabs(path) or not data_root) else osp.join(data_root, path)


def check_data_paths(cfg: Config, splits: List[str]) -> None:
    """Fails when a path that the data sets of ``splits`` (e.g. ``['train', 'val']``) read is missing.

    Paths are resolved as MMEngine's ``BaseDataset`` does: ``ann_file`` and
    ``data_prefix`` entries relative to ``data_root``, which is itself
    relative to the current folder. Remote paths (``s3://...``) are not checked.

    Raises:
        ConfigError: naming the config key, the path and how to point it elsewhere.
    """
    loaders = {split: cfg.get(f'{split}_dataloader') for split in splits
               if cfg.get(f'{split}_cfg') is not None}
    for split, where, dataset in _loader_datasets(loaders):
        data_root = dataset.get('data_root') or ''
        checks = [('data_root', data_root, osp.isdir)] if data_root else []
        if dataset.get('ann_file'):
            checks.append(('ann_file', _resolve(data_root, dataset['ann_file']), osp.isfile))
        for key, prefix in (dataset.get('data_prefix') or {}).items():
            if prefix:
                checks.append((f'data_prefix.{key}', _resolve(data_root, prefix), osp.isdir))
        for key, path, exists in checks:
            if '://' in path or exists(path):
                continue
            kind = 'folder' if exists is osp.isdir else 'file'
            raise ConfigError(
                f'{where}.{key}: {kind} {path!r} does not exist (relative paths start at '
                f'{osp.abspath(".")}). Put the data there (see README.md, "Data") or point the '
                f'config elsewhere, e.g. --cfg-options {where}.data_root=/path/to/data/')


def guard_pipelines(runner: Runner, task: str, skip_unreadable: bool = False) -> None:
    """Puts the checks of :mod:`swiftformer_mm.data.guards` into the pipelines of ``runner``'s
    data sets.

    ``LoadImageFromFile`` becomes ``LoadImageChecked`` with the same
    arguments (``skip_unreadable`` in training pipelines only), and for
    segmentation (``task == 'seg'``) ``CheckSegLabels`` follows ``LoadAnnotations``,
    with the decode head's ``num_classes`` and ``ignore_index``.

    It edits the data loader configs that MMEngine's Runner keeps until it
    builds the loaders (at the start of ``train()`` or ``test()``), not the
    config: the config the Runner dumps into the work dir and stores in
    checkpoints stays the user's, whose ``LoadImageFromFile`` the libraries'
    inferencers look for.
    """
    head = runner.cfg.get('model', {}).get('decode_head') or {}
    head = head[0] if isinstance(head, (list, tuple)) else head
    loaders = {split: getattr(runner, f'_{split}_dataloader', None) for split in ('train', 'val', 'test')}
    for split, _, dataset in _loader_datasets(loaders):
        pipeline = []
        for step in dataset.get('pipeline') or []:
            if isinstance(step, dict) and step.get('type') in IMAGE_LOADERS:
                step = dict(step, type='LoadImageChecked', skip_unreadable=split == 'train' and skip_unreadable)
            pipeline.append(step)
            if (task == 'seg' and isinstance(step, dict) and step.get('type') in SEG_ANNOTATION_LOADERS
                    and 'num_classes' in head):
                pipeline.append(dict(type='CheckSegLabels', num_classes=head['num_classes'],
                                     ignore_index=head.get('ignore_index', 255)))
        if 'pipeline' in dataset:
            dataset['pipeline'] = pipeline
