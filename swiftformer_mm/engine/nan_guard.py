"""Stops training at the first NaN or infinite loss, before its weights are checkpointed.

MMEngine's ``train_step`` runs forward, backward and the optimizer step, then
the loop calls the ``after_train_iter`` hooks with the loss values of that
iteration; ``CheckpointHook`` (priority ``VERY_LOW``) saves there. By then a
non-finite loss has already been back-propagated into the weights, and MMEngine
goes on training and checkpointing them. :class:`NonFiniteLossHook` runs in
``after_train_iter`` at priority ``ABOVE_NORMAL``, before ``CheckpointHook``
(and before ``LoggerHook``), and raises :class:`NonFiniteLossError` naming the
iteration as the log and checkpoint names count it (``Iter(train) [k/N]``,
``iter_k.pth``): no checkpoint of that iteration or any later one is written,
and ``last_checkpoint`` keeps naming the last finite one.

With several processes, the verdict is all-reduced (max) so that every rank
stops at the same iteration: a rank whose own loss is finite would otherwise
go on into the next all-reduce of gradients and wait for ever.
"""
import logging
import math
from typing import Optional

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or infinite; training was stopped."""


def _value(value) -> Optional[float]:
    if isinstance(value, torch.Tensor):
        return value.detach().float().mean().item() if value.numel() else None
    if isinstance(value, (int, float)):
        return float(value)
    return None


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Raises :class:`NonFiniteLossError` when a loss of an iteration is not finite.

    Every entry of the iteration's outputs whose name contains ``'loss'`` is
    checked (``loss`` is their sum, so a NaN in any term shows there too; the
    message names each one that is not finite).
    """

    priority = 'ABOVE_NORMAL'  # above CheckpointHook (VERY_LOW) and LoggerHook (BELOW_NORMAL)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        losses = {name: _value(value) for name, value in (outputs or {}).items() if 'loss' in name}
        bad = {name: value for name, value in losses.items()
               if value is not None and not math.isfinite(value)}
        if get_world_size() > 1:
            flag = torch.tensor([1.0 if bad else 0.0])
            all_reduce(flag, op='max')
            stop = flag.item() > 0
        else:
            stop = bool(bad)
        if not stop:
            return
        iteration = runner.iter + 1  # as the log (Iter(train) [k/N]) and iter_k.pth count
        where = f'iteration {iteration}'
        if runner.train_loop is not None and type(runner.train_loop).__name__.startswith('Epoch'):
            where += f' (epoch {runner.epoch + 1})'
        values = ', '.join(f'{name}={value}' for name, value in bad.items()) or \
            'finite here, not finite in another process'
        last = runner.message_hub.get_info('last_ckpt')
        message = (f'non-finite loss at {where}: {values}. Training stopped before this iteration '
                   f'could be checkpointed; the latest checkpoint is '
                   f'{last if last else "none (none was saved yet)"}. Lower the learning rate, '
                   f'use gradient clipping (optim_wrapper.clip_grad) or check the data, then '
                   f'resume with --resume.')
        runner.logger.log(logging.ERROR, message)
        raise NonFiniteLossError(message)
