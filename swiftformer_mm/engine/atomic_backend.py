"""Checkpoint files that are complete or absent, never truncated.

MMEngine 0.10.7 saves a checkpoint by serialising it in memory and handing
the bytes to the file backend of the path (``save_checkpoint`` ->
``get_file_backend(path, backend_args).put(bytes, path)``), and
``LocalBackend.put`` opens the final path with ``'wb'`` and writes: a kill
during that write leaves a truncated ``iter_N.pth`` under its final name.

:class:`AtomicLocalBackend`, registered as the backend ``'atomic_local'``,
writes to a hidden temporary file in the same folder, flushes and fsyncs it,
then renames it over the final name with :func:`os.replace` (atomic on POSIX
and Windows within one file system) and fsyncs the folder. A reader sees the
old file, or no file, or the whole new one. ``CheckpointHook`` uses it once
its ``backend_args`` are ``dict(backend='atomic_local')`` (what
``swiftformer_mm.cli.enable_fault_tolerance`` sets): the hook hands the same
``backend_args`` to ``Runner.save_checkpoint``. The hook then writes
``last_checkpoint``, only after ``save_checkpoint`` returned, so it never
names an incomplete file; but it writes it with a bare ``open()``, not
through the backend, so ``last_checkpoint`` itself is not written
atomically: a kill can leave half a path in it. ``--resume``
(``swiftformer_mm.cli.latest_checkpoint``) checks the file it names and
falls back to the newest whole checkpoint.

A killed write leaves only ``.<name>.<pid>.<token>.partial`` (see
:func:`is_partial_file`), which nothing mistakes for a checkpoint;
``swiftformer_mm.cli.resolve_resume`` removes such leftovers on resume (in the
process that holds the work dir, ``swiftformer_mm.cli.hold_work_dir``).
"""
import contextlib
import os
import os.path as osp
import re
import secrets
from pathlib import Path
from typing import Union

from mmengine.fileio import LocalBackend, register_backend

ATOMIC_BACKEND = 'atomic_local'
_PARTIAL_NAME = re.compile(r'^\..+\.\d+\.[0-9a-f]{8}\.partial$')


def is_partial_file(name: str) -> bool:
    """Whether ``name`` is one of :func:`write_atomically`'s temporary files."""
    return bool(_PARTIAL_NAME.match(name))


def write_atomically(path: Union[str, Path], data: bytes) -> None:
    """Writes ``data`` to ``path`` so that ``path`` never holds a part of it.

    Any exception (or a kill) before the rename leaves ``path`` as it was;
    on an exception the temporary file is removed.
    """
    path = osp.abspath(os.fspath(path))
    folder, name = osp.split(path)
    os.makedirs(folder, exist_ok=True)
    partial = osp.join(folder, f'.{name}.{os.getpid()}.{secrets.token_hex(4)}.partial')
    try:
        with open(partial, 'xb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(partial)
        raise
    _fsync_folder(folder)


def _fsync_folder(folder: str) -> None:
    """Makes the rename itself durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class AtomicLocalBackend(LocalBackend):
    """MMEngine's ``LocalBackend`` whose ``put`` (the checkpoint bytes) goes through
    :func:`write_atomically`."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        write_atomically(filepath, obj)


register_backend(ATOMIC_BACKEND, AtomicLocalBackend, force=True)
