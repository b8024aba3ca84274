"""Loading a config as the tools do: ``--cfg-options``, launcher and work dir."""
import difflib
import inspect
import os.path as osp
from typing import Optional

from mmengine.config import Config

from ..checkpoint import CheckpointError, check_pretrained_exists


class ConfigError(ValueError):
    """A config (or a command-line option applied to it) that the tools cannot run."""


def add_custom_hooks(cfg: Config, *hooks) -> None:
    """Appends each hook (a type name, or a dict with ``type``) to ``cfg.custom_hooks`` unless a
    hook of its type is already there."""
    custom = list(cfg.get('custom_hooks') or [])
    present = {hook.get('type') for hook in custom if isinstance(hook, dict)}
    for hook in hooks:
        hook = dict(type=hook) if isinstance(hook, str) else dict(hook)
        if hook['type'] not in present:
            custom.append(hook)
            present.add(hook['type'])
    cfg.custom_hooks = custom


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Reads ``path`` and merges ``cfg_options`` (``--cfg-options key=value ...``) into it.

    Raises:
        FileNotFoundError: ``path`` (or a base it inherits) does not exist.
        ConfigError: the file or an option does not parse or merge (MMEngine's message).
    """
    try:
        cfg = Config.fromfile(path)
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


def load_run_config(path: str,
                    work_dir: Optional[str] = None,
                    cfg_options: Optional[dict] = None,
                    launcher: str = 'none') -> Config:
    """A config ready for :class:`mmengine.runner.Runner`.

    The work dir is, by priority, ``work_dir``, the config's own
    ``work_dir``, then ``work_dirs/<config file name without .py>``
    (relative to the current directory), as with mmdet's and mmseg's tools.
    MMEngine's ``LoggerHook`` becomes :class:`~swiftformer_mm.engine.MainProcessLoggerHook`
    (one writer of the test metrics file in a distributed run).
    """
    cfg = load_config(path, cfg_options)
    cfg.launcher = launcher
    _use_main_process_logger(cfg)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('work_dirs', osp.splitext(osp.basename(path))[0])
    return cfg


def _check_consumer_channels(model: dict, channels: list, arch) -> None:
    """The module fed by the backbone must expect ``channels`` (known before anything is built)."""
    where, consumer = 'model.neck', model.get('neck')
    if isinstance(consumer, (list, tuple)):  # necks in sequence: the first one reads the backbone
        where, consumer = 'model.neck.0', consumer[0] if consumer else None
    if not consumer:
        where, consumer = 'model.decode_head', model.get('decode_head')
    expected = (consumer or {}).get('in_channels')
    if isinstance(expected, (list, tuple)) and list(expected) != channels:
        raise ConfigError(
            f'{where}.in_channels is {list(expected)}, but the SwiftFormer backbone (arch {arch!r}) returns '
            f'{channels} channels: set {where}.in_channels={channels} (e.g. --cfg-options '
            f'"{where}.in_channels={channels}"), or the arch the config was written for')


def _use_main_process_logger(cfg: Config) -> None:
    hooks = cfg.get('default_hooks') or {}
    logger = hooks.get('logger') or dict(type='LoggerHook')
    if logger.get('type') in ('LoggerHook', 'mmengine.LoggerHook'):
        cfg.default_hooks = {**hooks, 'logger': {**logger, 'type': 'MainProcessLoggerHook'}}


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
    _check_consumer_channels(cfg.model, channels, backbone.get('arch', 'l1'))
    init_cfg = backbone.get('init_cfg') or {}
    if pretrained and init_cfg.get('type') == 'Pretrained':
        try:
            check_pretrained_exists(init_cfg['checkpoint'])
        except CheckpointError as error:
            raise ConfigError(str(error)) from None
