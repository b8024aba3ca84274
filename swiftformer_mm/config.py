"""Reading mmdet and mmseg configs, for the tools, the ONNX export and the inference API.

:func:`load_config` reads a file and merges ``--cfg-options`` into it, naming a missing config
as such, and the file and line of a syntax error (a base's too); :func:`task_of` tells a
detection config from a segmentation one by its ``default_scope``; :func:`dataset_metainfo` gives the classes (and
palette, ...) a data set config will have. Importing this module silences the one library
warning no user can act on: MMEngine 0.10.7 imports setuptools' deprecated ``pkg_resources``
(warning again on every reload) whenever a config inherits ``mmdet::`` or ``mmseg::`` bases.
"""
import copy
import os.path as osp
import warnings
from typing import Container, Iterator, Optional, Tuple

from mmengine.config import Config
from mmengine.registry import init_default_scope

warnings.filterwarnings('ignore', message='pkg_resources is deprecated as an API', category=UserWarning)

# default_scope -> task; mmdet's and mmseg's default_runtime.py set the scope
TASKS = {'mmdet': 'det', 'mmseg': 'seg'}


class ConfigError(ValueError):
    """A config (or a command-line option applied to it) that cannot be run, with what to do."""


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Reads ``path`` and merges ``cfg_options`` (``--cfg-options key=value ...``) into it.

    Raises:
        ConfigError: ``path`` (or a base it inherits) does not exist, or the file or an option
            does not parse or merge (MMEngine's message).
    """
    if not osp.isfile(path):
        raise ConfigError(f'config not found: {path} (resolved: {osp.abspath(path)}); pass the path of an '
                          'mmdet or mmseg config file')
    try:
        cfg = Config.fromfile(path)
    except FileNotFoundError as error:
        raise ConfigError(f'{path}: {error} (a _base_ file the config inherits?)') from None
    except SyntaxError as error:
        where = osp.normpath(_file_being_read(error) or path) + (f', line {error.lineno}' if error.lineno else '')
        raise ConfigError(f'{where}: {error.msg}. Fix the syntax there') from None
    except (TypeError, KeyError, AttributeError, ValueError) as error:
        raise ConfigError(f'{path}: {error}') from None
    if cfg_options:
        try:
            cfg.merge_from_dict(cfg_options)
        except (TypeError, KeyError, AttributeError, ValueError) as error:
            raise ConfigError(f'--cfg-options {cfg_options}: {error}') from None
    return cfg


def _file_being_read(error: BaseException) -> Optional[str]:
    """The config file MMEngine was reading when it raised ``error``: its parser reports a base
    file's syntax error without the file's name (``<unknown>``)."""
    name = getattr(error, 'filename', None)
    if name and not name.startswith('<'):
        return name
    traceback, found = error.__traceback__, None
    while traceback is not None:  # the innermost frame of mmengine's Config holding a file name
        frame = traceback.tb_frame
        if isinstance(frame.f_locals.get('filename'), str) and 'mmengine' in frame.f_code.co_filename:
            found = frame.f_locals['filename']
        traceback = traceback.tb_next
    return found


def task_of(cfg: Config) -> str:
    """``'det'`` for an mmdet config, ``'seg'`` for an mmseg config.

    Raises:
        ConfigError: the config's ``default_scope`` is neither.
    """
    scope = cfg.get('default_scope')
    if scope not in TASKS:
        raise ConfigError(
            f'{cfg.filename}: default_scope is {scope!r}, but these tools run detection configs '
            "(default_scope='mmdet') and segmentation configs (default_scope='mmseg'); inherit "
            "mmdet's or mmseg's _base_/default_runtime.py, or set default_scope")
    return TASKS[scope]


def registry_of(task: str, name: str):
    """The registry ``name`` (e.g. ``'DATASETS'``) of the task's library: mmdet or mmseg."""
    if task == 'det':
        import mmdet.registry as registries
    else:
        import mmseg.registry as registries
    return getattr(registries, name)


def walk_config(node, where: str, skip: Container[str] = ()) -> Iterator[Tuple[str, object]]:
    """(config key, value) of ``node`` and of everything under it, through dicts and lists, depth
    first; the values of dict keys in ``skip`` are not entered."""
    yield where, node
    if isinstance(node, dict):
        children = ((key, value) for key, value in node.items() if key not in skip)
    elif isinstance(node, (list, tuple)):
        children = enumerate(node)
    else:
        return
    for key, value in children:
        yield from walk_config(value, f'{where}.{key}', skip)


def leaf_datasets(node, where: str) -> Iterator[Tuple[str, dict]]:
    """(config key, config) of every data set under the data set config ``node``, through
    wrappers such as ``ConcatDataset`` (``datasets``) and ``RepeatDataset`` (``dataset``)."""
    if not isinstance(node, dict):
        return
    if 'datasets' in node:
        for i, child in enumerate(node['datasets']):
            yield from leaf_datasets(child, f'{where}.datasets.{i}')
    elif 'dataset' in node:
        yield from leaf_datasets(node['dataset'], f'{where}.dataset')
    else:
        yield where, node


def first_model_part(cfg: Config, part: str) -> Tuple[str, dict]:
    """(config key, config) of the first module of ``model.<part>`` (``'neck'``, ``'decode_head'``):
    the only one, or the first of a list (necks in sequence, mmseg's ``CascadeEncoderDecoder``
    heads); the config is empty when the model has none."""
    module = cfg.get('model', {}).get(part) or {}
    if isinstance(module, (list, tuple)):
        return f'model.{part}.0', module[0] if module else {}
    return f'model.{part}', module


def first_test_dataset(cfg: Config) -> dict:
    """The config of the first data set of ``test_dataloader`` (through wrappers: :func:`leaf_datasets`),
    whose classes, palette and pipeline a model predicts with.

    Raises:
        ConfigError: the config has no test data set.
    """
    for _, dataset in leaf_datasets((cfg.get('test_dataloader') or {}).get('dataset'), 'test_dataloader.dataset'):
        return dataset
    raise ConfigError('the config has no test_dataloader.dataset, which gives the classes and the test '
                      'pipeline; add one (mmdet and mmseg configs inherit it from their _base_/datasets)')


def dataset_metainfo(cfg: Config, dataset: dict) -> dict:
    """Class names, palette, ... of the data set config ``dataset`` of ``cfg``, as the data set
    builds them (lazily, without its pipeline: no file is read, no transform is built).

    Raises:
        ConfigError: the data set's type is not registered, or its arguments do not fit it.
    """
    init_default_scope(cfg.default_scope)
    registry = registry_of(task_of(cfg), 'DATASETS')
    dataset_type = dataset.get('type')
    if isinstance(dataset_type, str) and registry.get(dataset_type) is None:
        raise ConfigError(f'the data set type {dataset_type!r} is not registered in {registry.scope}: check its '
                          'name, or import the module that registers it (custom_imports)')
    try:
        return dict(registry.build(dict(copy.deepcopy(dataset), lazy_init=True, pipeline=[])).metainfo)
    except (TypeError, ValueError) as error:
        raise ConfigError(f'the data set {dataset_type!r} cannot be built from the config: {error}') from error
