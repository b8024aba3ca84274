"""Training-time parts that make a run safe to kill, resume and leave unattended.

Importing ``swiftformer_mm`` imports this package, which registers in
MMEngine's root registries (so configs dumped by a run, and the libraries'
own tools, can build them wherever ``swiftformer_mm`` is imported):

- the file backend ``'atomic_local'`` (:class:`AtomicLocalBackend`): whole
  checkpoints or nothing under their final name;
- :class:`NonFiniteLossHook`: stops training at the first NaN/inf loss,
  before a checkpoint of those weights is written;
- :class:`RngStateHook`: keeps the random generators' states in every
  checkpoint, so that a resumed run continues exactly as an uninterrupted one;
- :class:`SwitchToDeployHook`: tests a trained model in SwiftFormer's deploy
  form (``tools/test.py --deploy``);
- :class:`CheckpointFitHook`: a checkpoint that does not fit the model stops
  ``tools/test.py`` and every resume with one line (fine-tuning: a warning);
- :class:`FastInferenceHook`: backbone, neck (and a segmentor's decode head)
  compiled and/or replayed as CUDA graphs when testing (``tools/test.py --compile --cuda-graphs``);
- :class:`MainProcessLoggerHook`: MMEngine's ``LoggerHook`` with one writer of
  the test metrics file in a distributed run;
- :func:`runner_model`: the Runner's model without its wrapper, for the hooks.

``swiftformer_mm.cli.enable_fault_tolerance`` switches four of them on in a
config (the ``'atomic_local'`` backend for checkpoints, ``NonFiniteLossHook``,
``RngStateHook`` and ``CheckpointFitHook``); ``tools/train.py`` does so for
every run.
"""
from .atomic_backend import ATOMIC_BACKEND, AtomicLocalBackend, is_partial_file, write_atomically
from .checkpoint_fit_hook import CheckpointFitHook
from .deploy_hook import SwitchToDeployHook
from .fast_inference_hook import FastInferenceHook
from .logger_hook import MainProcessLoggerHook
from .nan_guard import NonFiniteLossError, NonFiniteLossHook
from .rng_state import RngStateHook, get_rng_state, set_rng_state
from .runner_model import runner_model

__all__ = [
    'ATOMIC_BACKEND', 'AtomicLocalBackend', 'CheckpointFitHook', 'FastInferenceHook', 'MainProcessLoggerHook',
    'NonFiniteLossError', 'NonFiniteLossHook', 'RngStateHook', 'SwitchToDeployHook', 'get_rng_state',
    'is_partial_file', 'runner_model', 'set_rng_state', 'write_atomically'
]
