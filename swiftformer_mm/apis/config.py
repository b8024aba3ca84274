"""Loading a config as the tools do: ``--cfg-options``, launcher and work dir."""
import os.path as osp
from typing import Optional

from mmengine.config import Config

from ..checkpoint import CheckpointError, check_pretrained_exists


class ConfigError(ValueError):
    """A config (or a command-line option applied to it) that the tools cannot run."""


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Reads ``path`` and merges ``cfg_options`` (``--cfg-options key=value ...``) into it."""
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def load_run_config(path: str,
                    work_dir: Optional[str] = None,
                    cfg_options: Optional[dict] = None,
                    launcher: str = 'none') -> Config:
    """A config ready for :class:`mmengine.runner.Runner`.

    The work dir is, by priority, ``work_dir``, the config's own
    ``work_dir``, then ``work_dirs/<config file name without .py>``
    (relative to the current directory), as with mmdet's and mmseg's tools.
    """
    cfg = load_config(path, cfg_options)
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('work_dirs', osp.splitext(osp.basename(path))[0])
    return cfg


def check_backbone_weights(cfg: Config) -> None:
    """Fails before anything is built when a SwiftFormer backbone's pretrained file is missing.

    Raises:
        ConfigError: naming the path and what to do.
    """
    backbone = cfg.get('model', {}).get('backbone') or {}
    init_cfg = backbone.get('init_cfg') or {}
    if backbone.get('type') == 'SwiftFormer' and init_cfg.get('type') == 'Pretrained':
        try:
            check_pretrained_exists(init_cfg['checkpoint'])
        except CheckpointError as error:
            raise ConfigError(str(error)) from None
