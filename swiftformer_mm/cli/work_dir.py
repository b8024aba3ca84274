"""The work dir of ``tools/train.py``: one run at a time, never overwrite an earlier run, resume
from a whole file.

:func:`hold_work_dir` makes a run the only one in its work dir: two runs
started a few seconds apart would both pass :func:`check_work_dir` (no
checkpoint yet) and then write into each other's ``iter_N.pth``,
``best_*.pth``, ``last_checkpoint`` and dumped config. It takes an advisory
lock (``flock``) on ``<work_dir>/.run.lock``, held for the life of the
process: the kernel drops it when the process ends in any way, ``kill -9``
included, so a crashed run never leaves its work dir stuck. The file stays
and says which process held it last; it means nothing unless locked.

MMEngine writes a run's logs under a new ``<work_dir>/<timestamp>/`` but its
checkpoints (``iter_N.pth``, ``epoch_N.pth``, ``best_*.pth``) and
``last_checkpoint`` straight into the work dir: a second run without
``--resume`` in the same folder overwrites the first one's files of the same
names, and its ``max_keep_ckpts`` deletes older ones. :func:`check_work_dir`
refuses that.

``--resume`` without a path makes MMEngine read ``<work_dir>/last_checkpoint``
and load whatever file it names. :func:`resolve_resume` picks the file
instead: the one ``last_checkpoint`` names if it is a whole checkpoint, else
the newest whole ``iter_N.pth`` / ``epoch_N.pth``
(:func:`~swiftformer_mm.checkpoint.is_whole_checkpoint`, which a truncated
file is not). The process that holds the work dir also removes what a killed
atomic write left behind.
"""
import errno
import fcntl
import json
import logging
import os
import os.path as osp
import re
import socket
import sys
import time
from typing import Dict, List, Optional

from mmengine.logging import print_log

from ..checkpoint import is_whole_checkpoint
from ..config import ConfigError
from ..engine import is_partial_file

_NUMBERED = re.compile(r'^(?:iter|epoch)_(\d+)\.pth$')
LOCK_FILE = '.run.lock'
# the global rank of a process of each launcher, set before the process group exists
RANK_VARIABLES = {'pytorch': ('RANK', ), 'slurm': ('SLURM_PROCID', ),
                  'mpi': ('OMPI_COMM_WORLD_RANK', 'PMI_RANK')}
_held: Dict[str, int] = {}  # real path of a work dir -> the descriptor that holds its lock


class WorkDirInUseError(ConfigError):
    """Another process holds the work dir; the message names it."""


def launch_rank(launcher: str) -> int:
    """This process's global rank in its launch (0 without one), read from the launcher's
    environment, so that it is known before the process group is set up."""
    for name in RANK_VARIABLES.get(launcher, ()):
        if os.environ.get(name, '').isdigit():
            return int(os.environ[name])
    return 0


def _close_in_child() -> None:
    # a forked child (a DataLoader worker) must not keep the lock of a killed parent alive;
    # closing its copy leaves the parent's lock as it is (only LOCK_UN or the last close ends it)
    for fd in _held.values():
        try:
            os.close(fd)
        except OSError:
            pass
    _held.clear()


os.register_at_fork(after_in_child=_close_in_child)


def _holder(fd: int) -> str:
    """Who holds the lock of ``fd``, from what the holder wrote into the lock file."""
    for _ in range(20):  # the holder writes right after taking the lock: wait for it a moment
        text = os.pread(fd, 4096, 0).decode(errors='replace')
        if text.strip():
            break
        time.sleep(0.05)
    try:
        info = json.loads(text)
        return (f"pid {info['pid']}, started {info['started']} on {info['host']} by "
                f"{info['command']}")
    except (ValueError, KeyError, TypeError):
        return 'pid unknown'


def _refuse_a_file(work_dir: str) -> None:
    """Refuses a ``work_dir`` that is a file, or lies under one, before anything is written.

    Raises:
        ConfigError: naming ``--work-dir``, the file, and what to pass instead.
    """
    path = osp.abspath(work_dir)
    while not osp.exists(path) and path != osp.dirname(path):
        path = osp.dirname(path)
    if osp.isdir(path):
        return
    where = 'is a file' if path == osp.abspath(work_dir) else f'lies under the file {path!r}'
    raise ConfigError(f'--work-dir {work_dir!r} {where}, not a folder; pass --work-dir a new folder or the '
                      'folder of an earlier run (the file is left as it is)')


def hold_work_dir(work_dir: str, launcher: str = 'none') -> bool:
    """Makes this run the only one that writes into ``work_dir``, until this process ends.

    Only rank 0 of a launch (the only process without a launcher) takes the
    lock, before the process group is set up; the other ranks of the same
    run leave it to rank 0, and a second launch whose rank 0 is refused is
    stopped by its launcher (torchrun and ``srun --kill-on-bad-exit`` end
    the other ranks when one fails). Creates ``work_dir`` when missing.

    Returns:
        bool: whether this process holds the lock (False on ranks other than 0).

    Raises:
        WorkDirInUseError: another process holds it, named by pid, start time, host and command.
        ConfigError: ``work_dir`` is a file or lies under one, or cannot be created or written.
    """
    _refuse_a_file(work_dir)
    if launch_rank(launcher) != 0:
        return False
    key = osp.realpath(work_dir)
    if key in _held:
        return True
    try:
        os.makedirs(work_dir, exist_ok=True)
        fd = os.open(osp.join(work_dir, LOCK_FILE), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as error:
        raise ConfigError(f'--work-dir {work_dir!r} cannot be used: {error.strerror}; pass --work-dir a folder '
                          'this user can write to') from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        if error.errno not in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
            os.close(fd)  # e.g. ENOLCK: a file system without locks
            print_log(f'cannot lock work dir {work_dir!r} ({error.strerror}): nothing stops another '
                      'run from writing into it at the same time', logger='current',
                      level=logging.WARNING)
            return False
        holder = _holder(fd)
        os.close(fd)
        raise WorkDirInUseError(f'work dir {work_dir!r} is in use by another run ({holder}); wait '
                                'for it or pass another --work-dir') from None
    info = dict(pid=os.getpid(), started=time.strftime('%Y-%m-%d %H:%M:%S'),
                host=socket.gethostname(), command=' '.join([osp.basename(sys.argv[0])] + sys.argv[1:2]))
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(info) + '\n').encode(), 0)
    _held[key] = fd
    return True


def holds_work_dir(work_dir: str) -> bool:
    """Whether this process holds ``work_dir`` (:func:`hold_work_dir`)."""
    return osp.realpath(work_dir) in _held


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


def _step(name: str) -> int:
    return int(_NUMBERED.match(name).group(1))


def _remove_partial_files(work_dir: str) -> None:
    for name in os.listdir(work_dir):
        if is_partial_file(name):
            try:
                os.remove(osp.join(work_dir, name))
            except FileNotFoundError:  # gone already
                continue
            print_log(f'removed {name}: a checkpoint write that was cut off', logger='current',
                      level=logging.WARNING)


def latest_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint ``--resume`` continues from; None when ``work_dir`` holds none.

    The process that holds the work dir (:func:`hold_work_dir`) also removes
    what a killed checkpoint write left behind; any other (another rank, or a
    run about to be refused) leaves the files alone, since they may be a
    running run's checkpoint in the making.

    Raises:
        ConfigError: there are checkpoints but none of them is whole.
    """
    if not osp.isdir(work_dir):
        return None
    if holds_work_dir(work_dir):
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
