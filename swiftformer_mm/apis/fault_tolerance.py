"""What ``tools/train.py`` adds to every config so that a run survives kills and NaNs."""
from mmengine.config import Config

from ..engine import ATOMIC_BACKEND
from .config import add_custom_hooks

HOOKS_ADDED = ('NonFiniteLossHook', 'RngStateHook', dict(type='CheckpointFitHook', strict=False))


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
