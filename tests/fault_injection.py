"""Faults for the training runs of test_resume.py, switched on by environment variables.

The tiny configs of the tests import this module (``custom_imports``, with
``tests/`` on ``PYTHONPATH``) and list :class:`FaultInjectionHook`; without
the variables below it does nothing, so a resumed run with the same config
runs clean.

- ``FAULT_SLEEP_AFTER_ITER=S``: sleep S seconds after every iteration from
  the first checkpoint on, so that a test can kill the process mid-run;
- ``FAULT_NAN_AT_ITER=k``: before iteration k (counted as the log does,
  from 1), fill the decode head's classifier weights with NaN, so that the
  loss of iteration k is NaN;
- ``FAULT_KILL_WRITING=NAME@k``: from iteration k on, when the process
  opens a file whose name contains NAME for writing, the file gets half of
  the first bytes written to it and the process then kills itself with
  SIGKILL.
"""
import builtins
import contextlib
import os
import signal
import time

import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from swiftformer_mm.engine import runner_model


class _CutWrites:
    """A file whose first write stores half of its bytes, then calls ``fault``."""

    def __init__(self, file, fault):
        self._file, self._fault = file, fault

    def write(self, data):
        self._file.write(data[:len(data) // 2])
        self._file.flush()
        os.fsync(self._file.fileno())
        self._fault()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._file.close()

    def __getattr__(self, name):
        return getattr(self._file, name)


@contextlib.contextmanager
def cut_writes_to(name_part: str, fault):
    """Within the block, a file opened for writing whose name contains ``name_part`` is cut."""
    real_open = builtins.open

    def open_(file, mode='r', *args, **kwargs):
        handle = real_open(file, mode, *args, **kwargs)
        if ('w' in mode or 'x' in mode) and name_part in os.path.basename(os.fspath(file)):
            return _CutWrites(handle, fault)
        return handle

    builtins.open = open_
    try:
        yield
    finally:
        builtins.open = real_open


def kill_self():
    os.kill(os.getpid(), signal.SIGKILL)


@HOOKS.register_module()
class FaultInjectionHook(Hook):
    priority = 'LOWEST'  # after CheckpointHook: sleeps start once a checkpoint is written

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        name, _, kill_at = os.environ.get('FAULT_KILL_WRITING', '').partition('@')
        if name and runner.iter + 1 == int(kill_at):
            self._cut = cut_writes_to(name, kill_self)  # kept: the generator restores open() when freed
            self._cut.__enter__()  # for the rest of the process's life
        nan_at = int(os.environ.get('FAULT_NAN_AT_ITER', 0))
        if nan_at and runner.iter + 1 == nan_at:
            with torch.no_grad():
                runner_model(runner).decode_head.conv_seg.weight.fill_(float('nan'))

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        sleep = float(os.environ.get('FAULT_SLEEP_AFTER_ITER', 0))
        if sleep and runner.message_hub.get_info('last_ckpt'):
            time.sleep(sleep)
