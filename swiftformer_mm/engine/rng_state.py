"""Random generator states in checkpoints, so that a resumed run equals an uninterrupted one.

What MMEngine 0.10.7 restores on ``resume``: weights, optimizer, parameter
schedulers, message hub and the iteration; for ``IterBasedTrainLoop`` it also
draws and drops as many batches as were trained (``Advance dataloader N
steps``), so that the sampler yields the same indices as an uninterrupted run
(``InfiniteSampler`` and ``DefaultSampler`` are seeded by the run's seed). It
does not restore the random generators: the global ``torch``, ``numpy`` and
``random`` states (dropout, drop path, random flips and crops in the data
pipeline when ``num_workers=0``) start from the seed again, so a resumed run
draws other random numbers than the uninterrupted one and ends with other
weights.

:class:`RngStateHook` adds ``checkpoint['rng_state']`` (python, numpy, torch
CPU and CUDA states, as tensors and plain numbers, so that the file still
loads with ``weights_only=True``) and, on resume, puts those states back just
before the first batch that was not trained yet is drawn: after MMEngine's
skipping of the trained batches (which itself runs the pipeline and draws
random numbers), or before the first epoch of ``EpochBasedTrainLoop``.

Validation runs between training iterations; creating its data loader draws
a random number. So that where validation and checkpoints fall cannot change
training, the hook keeps the generators' states at ``before_val`` and puts
them back at ``after_val``: validation draws nothing from training's
streams. A checkpoint saved during validation (``save_best``) gets the
states of before validation.

With data loader workers, each worker's generators are seeded from the
run's seed and worker id, and the skipped batches reproduce their draws; a
persistent worker of ``EpochBasedTrainLoop`` is not reproduced (it carries its
state across epochs). Only rank 0 writes checkpoints, so with several
processes and ``randomness.diff_rank_seed=True`` (each rank its own stream)
the states are not restored, with a warning.
"""
import random
from typing import Optional

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

KEY = 'rng_state'


def get_rng_state() -> dict:
    """The global python, numpy, torch (and CUDA, when in use) generator states."""
    version, words, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state = dict(
        python=dict(version=version, words=torch.tensor(words, dtype=torch.int64), gauss=gauss),
        numpy=dict(name=name, keys=torch.from_numpy(keys.astype(np.int64)), pos=int(pos),
                   has_gauss=int(has_gauss), cached_gaussian=float(cached)),
        torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Puts back the states of :func:`get_rng_state`."""
    py = state['python']
    random.setstate((py['version'], tuple(py['words'].tolist()), py['gauss']))
    npy = state['numpy']
    np.random.set_state((npy['name'], npy['keys'].cpu().numpy().astype(np.uint32), npy['pos'],
                         npy['has_gauss'], npy['cached_gaussian']))
    torch.set_rng_state(state['torch'].cpu())
    if 'cuda' in state and torch.cuda.is_available():
        cuda = [s.cpu() for s in state['cuda']]
        if len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)


class _RestoreAfterSkip:
    """Stands in for ``IterBasedTrainLoop.dataloader_iterator`` during a resume.

    The loop first draws ``skip`` batches it already trained on, then the
    next one; the states go back just before that one, and the loop gets its
    own iterator back.
    """

    def __init__(self, loop, skip: int, state: dict):
        self._loop, self._skip, self._state = loop, skip, state
        self._inner = loop.dataloader_iterator

    def __iter__(self):
        return self

    def __next__(self):
        if self._skip > 0:
            self._skip -= 1
            return next(self._inner)
        self._loop.dataloader_iterator = self._inner
        set_rng_state(self._state)
        return next(self._inner)

    def __getattr__(self, name):
        return getattr(self._inner, name)


@HOOKS.register_module()
class RngStateHook(Hook):
    """Saves the random generators' states in checkpoints and restores them on resume."""

    priority = 'LOW'

    def __init__(self) -> None:
        self._before_val: Optional[dict] = None
        self._loaded: Optional[dict] = None  # read from the checkpoint
        self._pending: Optional[dict] = None  # to restore at the next before_train_epoch

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint[KEY] = self._before_val if self._before_val is not None else get_rng_state()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        # also called for load_from; before_train tells a resume (iter > 0) apart
        self._loaded = checkpoint.get(KEY)

    def before_train(self, runner) -> None:
        state, self._loaded = self._loaded, None
        if runner.iter == 0 and runner.epoch == 0:
            return  # a new run, or load_from: the seed decides
        if state is None:
            runner.logger.warning('the checkpoint holds no random generator states (written '
                                  'without RngStateHook): the resumed run draws other random '
                                  'numbers than an uninterrupted one would')
            return
        randomness = getattr(runner, '_randomness_cfg', None) or {}
        if runner.world_size > 1 and randomness.get('diff_rank_seed', False):
            runner.logger.warning('random generator states are not restored: with '
                                  'diff_rank_seed=True every rank has its own, and only rank '
                                  "0's are in the checkpoint")
            return
        loop = runner.train_loop
        if hasattr(loop, 'dataloader_iterator'):  # IterBasedTrainLoop: restore after its skip
            loop.dataloader_iterator = _RestoreAfterSkip(loop, runner.iter, state)
            runner.logger.info('random generator states of the checkpoint are restored before '
                               f'iteration {runner.iter + 1}')
        else:
            self._pending = state

    def before_train_epoch(self, runner) -> None:
        state, self._pending = self._pending, None
        if state is not None:
            set_rng_state(state)
            runner.logger.info('random generator states of the checkpoint restored before '
                               f'epoch {runner.epoch + 1}')

    def before_val(self, runner) -> None:
        self._before_val = get_rng_state()

    def after_val(self, runner) -> None:
        state, self._before_val = self._before_val, None
        if state is not None:
            set_rng_state(state)
