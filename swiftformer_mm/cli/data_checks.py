"""What the tools check and add to a config's data sets before the Runner is built.

- :func:`check_data_paths`: the data root, annotation files and image and
  label folders of every data set (and evaluator) the run will read exist,
  and the JSON annotation files parse, so that a wrong path or a
  half-written file is named before any model is built or any iteration runs;
- :func:`guard_pipelines` (on the built Runner) and :func:`guard_pipeline`:
  the pipeline steps of :mod:`swiftformer_mm.data.guards`, so that an
  unreadable image or label map, or an out-of-range label, is an error
  naming its file, in DataLoader workers too.
"""
import json
import os.path as osp
from typing import Dict, Iterator, List, Optional, Tuple

from mmengine.config import Config, ConfigDict
from mmengine.runner import Runner

from ..config import ConfigError, first_model_part, leaf_datasets
from ..data import DataError

SEG_ANNOTATION_LOADERS = ('LoadAnnotations', 'mmseg.LoadAnnotations')
# JSON annotation files up to this size are parsed before the run; larger ones (COCO train2017 is
# 448 MB) are only checked to end as a JSON object does, which a file cut off while written does not
PARSE_LIMIT = 64 * 2**20
COCO_LISTS = ('images', 'categories')


def loader_datasets(loaders: Dict[str, dict]) -> Iterator[Tuple[str, str, ConfigDict]]:
    """(split, config key of the data set, data set config) of every data set of ``loaders``,
    a mapping from split names to data loader configs."""
    for split, loader in loaders.items():
        if isinstance(loader, dict) and loader.get('dataset'):
            for where, dataset in leaf_datasets(loader['dataset'], f'{split}_dataloader.dataset'):
                yield split, where, dataset


def run_splits(cfg: Config, splits: List[str]) -> List[str]:
    """Those of ``splits`` that the run reads (a split without its ``<split>_cfg`` loop is never run)."""
    return [split for split in splits if cfg.get(f'{split}_cfg') is not None]


def split_datasets(cfg: Config, splits: List[str]) -> Iterator[Tuple[str, str, ConfigDict]]:
    """:func:`loader_datasets` of those of ``splits`` that the run reads."""
    yield from loader_datasets({split: cfg.get(f'{split}_dataloader') for split in run_splits(cfg, splits)})


def _resolve(data_root: str, path: str) -> str:
    return path if (osp.isabs(path) or not data_root) else osp.join(data_root, path)


def _evaluator_ann_files(cfg: Config, split: str) -> Iterator[Tuple[str, str]]:
    """(config key, path) of the ``ann_file`` of each evaluator of ``split`` (e.g. ``CocoMetric``'s)."""
    evaluator = cfg.get(f'{split}_evaluator')
    metrics = ([('', evaluator)] if isinstance(evaluator, dict)
               else [(f'.{i}', metric) for i, metric in enumerate(evaluator or [])])
    for suffix, metric in metrics:
        if isinstance(metric, dict) and metric.get('ann_file'):
            yield f'{split}_evaluator{suffix}.ann_file', metric['ann_file']


def check_data_paths(cfg: Config, splits: List[str]) -> None:
    """Fails when a path that the data sets and evaluators of ``splits`` (e.g. ``['train', 'val']``)
    read is missing, or a JSON annotation file of theirs does not parse.

    Paths are resolved as MMEngine's ``BaseDataset`` does: ``ann_file`` and
    ``data_prefix`` entries relative to ``data_root``, which is itself
    relative to the current folder; an evaluator's ``ann_file`` relative to
    the current folder. Remote paths (``s3://...``) are not checked.

    Raises:
        ConfigError: a missing path, naming the config key, the path and how to point it elsewhere.
        DataError: an annotation file that is not what its data set reads (see :func:`check_annotation_file`).
    """
    for _, where, dataset in split_datasets(cfg, splits):
        check_dataset_files(dataset, where)
    for split in run_splits(cfg, splits):
        for where, path in _evaluator_ann_files(cfg, split):
            _check_exists(where, path, osp.isfile, f'--cfg-options {where}=/path/to/annotations.json')
            check_annotation_file(path, where, coco=True)


def check_dataset_files(dataset: ConfigDict, where: str) -> None:
    """:func:`check_data_paths` for one data set config, ``where`` being its config key."""
    data_root = dataset.get('data_root') or ''
    checks = [('data_root', data_root, osp.isdir)] if data_root else []
    if dataset.get('ann_file'):
        checks.append(('ann_file', _resolve(data_root, dataset['ann_file']), osp.isfile))
    for key, prefix in (dataset.get('data_prefix') or {}).items():
        if prefix:
            checks.append((f'data_prefix.{key}', _resolve(data_root, prefix), osp.isdir))
    for key, path, exists in checks:
        _check_exists(f'{where}.{key}', path, exists, f'--cfg-options {where}.data_root=/path/to/data/')
    if dataset.get('ann_file'):
        check_annotation_file(_resolve(data_root, dataset['ann_file']), f'{where}.ann_file',
                              coco='coco' in str(dataset.get('type', '')).lower())


def _check_exists(where: str, path: str, exists, option: str) -> None:
    if '://' in path or exists(path):
        return
    kind = 'folder' if exists is osp.isdir else 'file'
    raise ConfigError(
        f'{where}: {kind} {path!r} does not exist (relative paths start at {osp.abspath(".")}). '
        f'Put the data there (see README.md, "Data") or point the config elsewhere, e.g. {option}')


def check_annotation_file(path: str, where: str, coco: bool = False) -> None:
    """Fails when the JSON file ``path`` (other suffixes are let through) does not parse as a JSON
    object or, with ``coco``, lacks the ``images`` and ``categories`` lists of a COCO file.

    Files over :data:`PARSE_LIMIT` are only checked to end with ``}``.

    Raises:
        DataError: naming ``where`` (the config key), the file, the problem and what to do.
    """
    if '://' in path or not path.lower().endswith('.json'):
        return
    problem = _json_problem(path, coco)
    if problem:
        raise DataError(f'{where}: annotation file {path} {problem}. Re-create or re-download it, or '
                        f'point the config at another file (--cfg-options {where}=...)')


def _json_problem(path: str, coco: bool) -> Optional[str]:
    """Why ``path`` is not a usable JSON annotation file; None when it is."""
    try:
        if osp.getsize(path) > PARSE_LIMIT:
            with open(path, 'rb') as f:
                f.seek(-min(osp.getsize(path), 64), 2)
                ends_well = f.read().rstrip().endswith(b'}')
            return None if ends_well else 'does not end as a JSON object does (cut off while written?)'
        with open(path, encoding='utf-8') as f:
            content = json.load(f)
    except json.JSONDecodeError as error:
        return (f'is not valid JSON ({error.msg}: line {error.lineno}, column {error.colno}; '
                'cut off while written?)')
    except (OSError, UnicodeDecodeError) as error:
        return f'cannot be read ({type(error).__name__}: {error})'
    if not isinstance(content, dict):
        return f'holds a JSON {type(content).__name__}, not an object with the annotations'
    missing = [key for key in COCO_LISTS if coco and not isinstance(content.get(key), list)]
    if missing:
        return f'has no {" or ".join(repr(key) for key in missing)} list, so it is not a COCO annotation file'
    return None


def guard_pipeline(pipeline: list, task: str, head: dict, skip_unreadable: bool = False) -> list:
    """``pipeline`` with the checks of :mod:`swiftformer_mm.data.guards` (see :func:`guard_pipelines`)."""
    guarded = []
    for step in pipeline:
        name = step.get('type') if isinstance(step, dict) else None
        if isinstance(name, str) and name.split('.')[-1].startswith('Load'):
            guarded.append(dict(type='LoadChecked', transform=step, skip_unreadable=skip_unreadable))
        else:
            guarded.append(step)
        if task == 'seg' and name in SEG_ANNOTATION_LOADERS and 'num_classes' in head:
            guarded.append(dict(type='CheckSegLabels', num_classes=head['num_classes'],
                                ignore_index=head.get('ignore_index', 255)))
    return guarded


def guard_pipelines(runner: Runner, task: str, skip_unreadable: bool = False) -> None:
    """Puts the checks of :mod:`swiftformer_mm.data.guards` into the pipelines of ``runner``'s
    data sets.

    Every loading step (``LoadImageFromFile``, ``LoadAnnotations``, any
    ``Load*``) runs inside ``LoadChecked`` (``skip_unreadable`` in training
    pipelines only), and for segmentation (``task == 'seg'``)
    ``CheckSegLabels`` follows ``LoadAnnotations``, with the decode head's
    ``num_classes`` and ``ignore_index``.

    It edits the data loader configs that MMEngine's Runner keeps until it
    builds the loaders (at the start of ``train()`` or ``test()``), not the
    config: the config the Runner dumps into the work dir and stores in
    checkpoints stays the user's, whose ``LoadImageFromFile`` the libraries'
    inferencers look for.
    """
    _, head = first_model_part(runner.cfg, 'decode_head')
    loaders = {split: getattr(runner, f'_{split}_dataloader', None) for split in ('train', 'val', 'test')}
    for split, _, dataset in loader_datasets(loaders):
        if 'pipeline' in dataset:
            dataset['pipeline'] = guard_pipeline(dataset['pipeline'] or [], task, head,
                                                 skip_unreadable=split == 'train' and skip_unreadable)
