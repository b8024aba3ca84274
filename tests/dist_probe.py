"""A hook for test_distributed.py: every process saves the weights it starts and ends with.

MMEngine writes checkpoints from rank 0 only; to compare the ranks, each one
saves its own model's ``state_dict`` to ``<work_dir>/initial_rank<R>.pth``
before training and ``<work_dir>/weights_rank<R>.pth`` after. The tiny configs import this module (``custom_imports``,
with ``tests/`` on ``PYTHONPATH``) and list :class:`SaveRankWeightsHook`.
"""
import os.path as osp

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from swiftformer_mm.engine import runner_model


@HOOKS.register_module()
class SaveRankWeightsHook(Hook):

    def before_train(self, runner):
        self._save(runner, 'initial')

    def after_train(self, runner):
        self._save(runner, 'weights')

    @staticmethod
    def _save(runner, name):
        torch.save(runner_model(runner).state_dict(), osp.join(runner.work_dir, f'{name}_rank{get_rank()}.pth'))
