"""The work dir of ``tools/train.py``: never overwrite an earlier run, resume from a whole file.

MMEngine writes a run's logs under a new ``<work_dir>/<timestamp>/`` but its
checkpoints (``iter_N.pth``, ``epoch_N.pth``, ``best_*.pth``) and
``last_checkpoint`` straight into the work dir: a second run without
``--resume`` in the same folder overwrites the first one's files of the same
names, and its ``max_keep_ckpts`` deletes older ones. :func:`check_work_dir`
refuses that.

``--resume`` without a path makes MMEngine read ``<work_dir>/last_checkpoint``
and load whatever file it names. :func:`resolve_resume` picks the file
instead: the one ``last_checkpoint`` names if it is a whole checkpoint, else
the newest whole ``iter_N.pth`` / ``epoch_N.pth`` (a torch checkpoint is a
zip archive, whose directory sits at its very end: a truncated file has
none). It also removes what a killed atomic write left behind.
"""
import logging
import os
import os.path as osp
import re
import zipfile
from typing import List, Optional

from mmengine.logging import print_log

from ..engine import is_partial_file
from .config import ConfigError

_NUMBERED = re.compile(r'^(?:iter|epoch)_(\d+)\.pth$')


def existing_checkpoints(work_dir: str) -> List[str]:
    """Names of the checkpoint files (``*.pth``, ``last_checkpoint``) directly in ``work_dir``."""
    if not osp.isdir(work_dir):
        return []
    return sorted(name for name in os.listdir(work_dir)
                  if (name.endswith('.pth') or name == 'last_checkpoint')
                  and osp.isfile(osp.join(work_dir, name)))


def check_work_dir(work_dir: str, resume: Optional[str]) -> None:
    """Refuses a new run (``resume`` is None) in a work dir that holds checkpoints.

    Raises:
        ConfigError: naming the files and the two ways on.
    """
    if resume is not None:
        return
    found = existing_checkpoints(work_dir)
    if found:
        shown = ', '.join(found[:5]) + (f' and {len(found) - 5} more' if len(found) > 5 else '')
        raise ConfigError(f'work dir {work_dir!r} already holds checkpoints of an earlier run '
                          f'({shown}), which a new run would overwrite. Pass --resume to continue '
                          f'that run, or --work-dir NEW_DIR to start a new one.')


def is_whole_checkpoint(path: str) -> bool:
    """Whether ``path`` is a complete torch zip checkpoint (cheap: reads its directory only)."""
    try:
        with zipfile.ZipFile(path):
            return True
    except (OSError, zipfile.BadZipFile):
        return False


def _step(name: str) -> int:
    return int(_NUMBERED.match(name).group(1))


def _remove_partial_files(work_dir: str) -> None:
    for name in os.listdir(work_dir):
        if is_partial_file(name):
            try:
                os.remove(osp.join(work_dir, name))
            except FileNotFoundError:  # another process of the same launch was quicker
                continue
            print_log(f'removed {name}: a checkpoint write that was cut off', logger='current',
                      level=logging.WARNING)


def latest_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint ``--resume`` continues from; None when ``work_dir`` holds none.

    Raises:
        ConfigError: there are checkpoints but none of them is whole.
    """
    if not osp.isdir(work_dir):
        return None
    _remove_partial_files(work_dir)
    pointer = osp.join(work_dir, 'last_checkpoint')
    named = None
    if osp.isfile(pointer):
        with open(pointer) as f:
            named = f.read().strip() or None
        if named is not None and is_whole_checkpoint(named):
            return named
    candidates = sorted((name for name in os.listdir(work_dir) if _NUMBERED.match(name)),
                        key=_step, reverse=True)
    for name in candidates:
        path = osp.join(work_dir, name)
        if is_whole_checkpoint(path):
            if osp.isfile(pointer):
                print_log(f'{pointer} names {named!r}, which is missing or not a whole '
                          f'checkpoint; resuming from {path}, the newest whole one',
                          logger='current', level=logging.WARNING)
            return path
    if candidates or osp.isfile(pointer):
        raise ConfigError(f'nothing to resume from in {work_dir!r}: last_checkpoint names '
                          f'{named!r} and none of {candidates} is a whole checkpoint')
    return None


def resolve_resume(work_dir: str, resume: Optional[str]) -> Optional[str]:
    """What ``--resume [CHECKPOINT]`` means: None (no resume), or the file to resume from.

    ``'auto'`` becomes :func:`latest_checkpoint`, or None (train from the
    start) when the work dir holds no checkpoint yet, which makes
    ``--resume`` safe to pass to every start of a job that may be preempted.
    """
    if resume != 'auto':
        return resume
    path = latest_checkpoint(work_dir)
    print_log(f'--resume: continuing from {path}' if path else
              f'--resume: no checkpoint in {work_dir} yet, training from the start',
              logger='current')
    return path
