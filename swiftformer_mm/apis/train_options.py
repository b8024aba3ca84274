"""What ``tools/train.py --amp/--auto-scale-lr/--resume`` change in the config."""
import logging
from typing import Optional

from mmengine.config import Config
from mmengine.device import is_cuda_available, is_mlu_available, is_musa_available, is_npu_available
from mmengine.logging import print_log

from .config import ConfigError


def enable_amp(cfg: Config) -> None:
    """Swaps ``OptimWrapper`` for ``AmpOptimWrapper`` with dynamic loss scaling.

    Raises:
        ConfigError: there is no GPU/NPU/MLU/MUSA device (mmengine's
            ``AmpOptimWrapper`` supports no other), or the config's optimizer
            wrapper is of another type.
    """
    if not (is_cuda_available() or is_npu_available() or is_mlu_available() or is_musa_available()):
        raise ConfigError('--amp needs a GPU (mmengine\'s AmpOptimWrapper runs on CUDA, NPU, MLU '
                          'or MUSA devices only); on a CPU, train without --amp')
    wrapper_type = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if wrapper_type == 'AmpOptimWrapper':
        print_log('--amp: the config already uses AmpOptimWrapper', logger='current',
                  level=logging.WARNING)
        return
    if wrapper_type != 'OptimWrapper':
        raise ConfigError(f'--amp replaces optim_wrapper type OptimWrapper by AmpOptimWrapper, but '
                          f'this config uses {wrapper_type}')
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.loss_scale = 'dynamic'


def enable_auto_scale_lr(cfg: Config) -> None:
    """Turns on mmengine's linear lr scaling by (GPUs x batch size) / ``base_batch_size``.

    Raises:
        ConfigError: the config does not say which total batch size its lr
            belongs to.
    """
    if 'base_batch_size' not in (cfg.get('auto_scale_lr') or {}):
        raise ConfigError('--auto-scale-lr needs auto_scale_lr=dict(base_batch_size=N) in the '
                          'config (N: the total batch size its learning rate was set for), e.g. '
                          '--cfg-options auto_scale_lr.base_batch_size=16')
    cfg.auto_scale_lr.enable = True


def set_resume(cfg: Config, resume: Optional[str]) -> None:
    """``'auto'``: resume from the latest checkpoint in the work dir; a path: from that file."""
    if resume is None:
        return
    cfg.resume = True
    cfg.load_from = None if resume == 'auto' else resume
