"""Which OpenMMLab task a config belongs to, read from its ``default_scope``."""
from mmengine.config import Config

from .config import ConfigError

# default_scope -> task; mmdet's and mmseg's default_runtime.py set the scope
TASKS = {'mmdet': 'det', 'mmseg': 'seg'}


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
