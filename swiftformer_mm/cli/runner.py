"""The MMEngine Runner of a tool's run: its config prepared, the Runner built, its errors reported.

- :func:`load_run_config`: the config with the launcher and work dir the tools use;
- what the tools' flags switch on: :func:`enable_fault_tolerance` (every ``train.py`` run),
  :func:`enable_amp`, :func:`enable_auto_scale_lr`, :func:`set_resume`, :func:`load_strictly`
  and :func:`evaluate_in_deploy_form` (``test.py``);
- :func:`build_runner`, :func:`metrics_file`, and :data:`RUN_ERRORS` with
  :func:`error_message`: what a run reports as one ``error: ...`` line.
"""
import logging
import os.path as osp
from typing import Optional

from mmengine.config import Config
from mmengine.device import is_cuda_available, is_mlu_available, is_musa_available, is_npu_available
from mmengine.logging import print_log
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from ..checkpoint import CheckpointError
from ..config import ConfigError, load_config
from ..data import DataError
from ..engine import ATOMIC_BACKEND, NonFiniteLossError

# raised while the Runner builds, loads or runs: a bad checkpoint, an unusable data file, a NaN loss
RUN_ERRORS = (CheckpointError, DataError, NonFiniteLossError)
# what tools/train.py adds to every config (see enable_fault_tolerance)
HOOKS_ADDED = ('NonFiniteLossHook', 'RngStateHook', dict(type='CheckpointFitHook', strict=False))


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


def _use_main_process_logger(cfg: Config) -> None:
    hooks = cfg.get('default_hooks') or {}
    logger = hooks.get('logger') or dict(type='LoggerHook')
    if logger.get('type') in ('LoggerHook', 'mmengine.LoggerHook'):
        cfg.default_hooks = {**hooks, 'logger': {**logger, 'type': 'MainProcessLoggerHook'}}


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


def enable_fault_tolerance(cfg: Config) -> None:
    """Atomic checkpoint files, a stop at the first non-finite loss, exact resumes.

    - ``default_hooks.checkpoint.backend_args`` becomes
      ``dict(backend='atomic_local')`` (see
      :mod:`swiftformer_mm.engine.atomic_backend`), unless the config sets its
      own backend (or ``file_client_args``) or saves to a remote ``out_dir``;
    - ``custom_hooks`` gain ``NonFiniteLossHook``, ``RngStateHook`` and
      ``CheckpointFitHook`` (a resume must fit the model exactly; ``load_from``
      names what it does not load) unless already there.
    """
    checkpoint = (cfg.get('default_hooks') or {}).get('checkpoint')
    if checkpoint is not None and checkpoint.get('backend_args') is None \
            and checkpoint.get('file_client_args') is None \
            and '://' not in str(checkpoint.get('out_dir') or ''):
        checkpoint['backend_args'] = dict(backend=ATOMIC_BACKEND)
    add_custom_hooks(cfg, *HOOKS_ADDED)


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


def set_resume(cfg: Config, path: Optional[str]) -> None:
    """Resumes the run from the checkpoint file ``path`` (see
    :func:`~swiftformer_mm.cli.work_dir.resolve_resume`); None: a new run."""
    if path is None:
        return
    cfg.resume = True
    cfg.load_from = path


def evaluate_fast(cfg: Config, compile: bool, cuda_graphs: bool) -> None:
    """Makes ``runner.test()`` compile the dense part (backbone, neck, a segmentor's decode head)
    and/or replay it as CUDA graphs
    (:class:`swiftformer_mm.engine.FastInferenceHook`)."""
    if compile or cuda_graphs:
        add_custom_hooks(cfg, dict(type='FastInferenceHook', compile=compile, cuda_graphs=cuda_graphs))


def load_strictly(cfg: Config) -> None:
    """Makes ``runner.test()`` stop when ``load_from`` does not fit the model
    (:class:`swiftformer_mm.engine.CheckpointFitHook`) instead of evaluating random layers."""
    add_custom_hooks(cfg, 'CheckpointFitHook')


def evaluate_in_deploy_form(cfg: Config) -> None:
    """Makes ``runner.test()`` fold every SwiftFormer into its deploy form after loading the
    checkpoint (:class:`swiftformer_mm.engine.SwitchToDeployHook`)."""
    add_custom_hooks(cfg, 'SwitchToDeployHook')


def build_runner(cfg: Config) -> Runner:
    """:meth:`Runner.from_cfg`, or the registered runner named by ``cfg.runner_type``."""
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def metrics_file(runner: Runner) -> str:
    """The JSON file where the runner's LoggerHook writes the metrics of ``runner.test()``."""
    return osp.join(runner.log_dir, f'{runner.timestamp}.json')


def error_message(error: BaseException) -> str:
    """The message of ``error``; for one re-raised from a DataLoader worker, the worker's own
    message without the worker's traceback that PyTorch puts in front of it."""
    text = str(error)
    if 'Original Traceback' not in text:
        return text
    last = text.strip().splitlines()[-1]  # e.g. 'swiftformer_mm.data.guards.DataError: cannot ...'
    name, _, message = last.partition(': ')
    return message if name.endswith(type(error).__name__) else last
