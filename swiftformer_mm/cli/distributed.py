"""Distributed runs without CUDA: the gloo backend, CPU DDP, no SyncBN.

mmengine assumes a GPU per process once a launcher is given: its default
backend is nccl, its ``init_dist`` pins each process to a GPU with
``torch.cuda.set_device`` (which a CPU-only torch build does not have), it
wraps the model in DDP with ``device_ids=[LOCAL_RANK]`` (which DDP refuses
for a CPU model), and torch's ``SyncBatchNorm`` refuses CPU tensors. A single
process (``--launcher none``) needs none of this: the Runner then reverts
SyncBN to BatchNorm itself.

Every launcher run, with CUDA or without, ends its process group, and with it
the backend's worker threads, at exit.
"""
import atexit
import contextlib
import gc
import logging

import torch
from mmengine.config import Config
from mmengine.dist import init_dist, is_distributed, is_main_process
from mmengine.logging import print_log

from ..config import walk_config

SYNC_BN_TYPES = ('SyncBN', 'MMSyncBN')


def setup_distributed(cfg: Config) -> None:
    """Makes a ``cfg`` with a launcher runnable on a machine without CUDA.

    With CUDA, or with ``cfg.launcher == 'none'``, nothing changes. Without
    CUDA: ``env_cfg.dist_cfg.backend`` becomes ``'gloo'``, SyncBN norms in
    ``cfg.model`` become plain BN (each process normalises over its own
    batch), DDP gets no device ids (unless the config sets its own
    ``model_wrapper_cfg``), and the process group is initialised here (the
    Runner then finds it ready). With a launcher, CUDA or not, the process
    group (whoever starts it) is destroyed when the interpreter exits.
    """
    if cfg.launcher == 'none':
        return
    atexit.register(destroy_process_group)
    if torch.cuda.is_available():
        return
    cfg.merge_from_dict({'env_cfg.dist_cfg.backend': 'gloo'})
    if not is_distributed():
        with _without_cuda_set_device():
            init_dist(cfg.launcher, **cfg.env_cfg.dist_cfg)
    replaced = _replace_sync_bn(cfg.model)
    if replaced and is_main_process():
        print_log(f'no CUDA: {replaced} SyncBN norm config(s) replaced by BN, since SyncBN needs '
                  'GPUs; each process normalises over its own batch', logger='current',
                  level=logging.WARNING)
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel',
            device_ids=None,
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))


def destroy_process_group() -> None:
    """Ends this process's part of the default process group, if there is one, while the
    interpreter is still whole, and with it the backend's worker threads.

    A gloo worker thread frees each finished collective's work, whose tensors can need the GIL.
    When that happens after the interpreter has begun to finalise (a rank that exits right after
    its last collective), Python ends the thread inside a C++ destructor and the process aborts
    (SIGABRT, "terminate called without an active exception") after a run that succeeded.
    ``torch.distributed.destroy_process_group`` alone does not stop those threads, since the
    finished runner's DDP wrapper still holds the group. Collecting that garbage first leaves
    the reference held here as the last one, unless something still alive holds the group too;
    releasing it (torch releases the GIL first) runs the group's destructor, which joins the
    worker threads. mmengine's runs use the default group only.
    """
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return
    group = torch.distributed.group.WORLD
    torch.distributed.destroy_process_group()
    gc.collect()  # the finished runner: its DDP wrapper and reducer hold the group too
    del group  # the last reference: the destructor joins the worker threads


def _replace_sync_bn(model: dict) -> int:
    """Turns every ``dict(type='SyncBN' | 'MMSyncBN', ...)`` under ``model`` into BN, in place;
    returns how many."""
    count = 0
    for _, node in walk_config(model, 'model'):
        if isinstance(node, dict) and node.get('type') in SYNC_BN_TYPES:
            node['type'] = 'BN'
            count += 1
    return count


@contextlib.contextmanager
def _without_cuda_set_device():
    """Lets mmengine's ``init_dist`` (which knows every launcher's env vars) run without a GPU."""
    set_device = torch.cuda.set_device
    torch.cuda.set_device = lambda device: None
    try:
        yield
    finally:
        torch.cuda.set_device = set_device
