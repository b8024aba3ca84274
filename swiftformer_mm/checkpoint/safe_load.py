"""Reads checkpoint files with ``weights_only=True`` and an explicit allow-list.

torch>=2.6 unpickles with ``weights_only=True`` by default and refuses any
class it does not know. The released SwiftFormer checkpoints hold an
``argparse.Namespace`` (the training arguments) and MMEngine's runner
checkpoints hold numpy scalars and a ``HistoryBuffer``; those types, and only
those, are allowed here. Anything else (a pickle that would run code) is
refused with :class:`CheckpointError`; the file is never unpickled without
the restriction.
"""
import argparse
import collections
import os
import pickle
import zipfile

import numpy as np
import torch


class CheckpointError(RuntimeError):
    """A checkpoint file that cannot be used, with the reason and what to do."""


def _numpy_globals() -> list:
    """numpy types found in MMEngine runner checkpoints (meta and message hub)."""
    multiarray = getattr(np, '_core', np.core).multiarray
    dtype_classes = [getattr(np.dtypes, name) for name in dir(np.dtypes) if name.endswith('DType')]
    return [multiarray.scalar, multiarray._reconstruct, np.ndarray, np.dtype, *dtype_classes]


def _history_buffer_getattr(owner, name):
    """Stands in for the builtin ``getattr`` while unpickling.

    A pickled ``HistoryBuffer`` refers to its statistics methods as
    ``getattr(HistoryBuffer, 'mean')``; allowing ``getattr`` itself would let
    a crafted file reach any attribute of any allowed object, so only those
    lookups are honoured.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    allowed = {'min', 'max', 'current', 'mean', *HistoryBuffer._statistics_methods}
    if owner is not HistoryBuffer or name not in allowed:
        raise pickle.UnpicklingError(f'getattr({owner!r}, {name!r}) is not allowed in a checkpoint')
    return getattr(HistoryBuffer, name)


def _mmengine_globals() -> list:
    from mmengine.logging.history_buffer import HistoryBuffer
    return [HistoryBuffer, (_history_buffer_getattr, 'builtins.getattr')]


def allowed_globals() -> list:
    """The non-tensor types a checkpoint may contain (``MultiStepLR`` keeps a ``Counter``)."""
    return [argparse.Namespace, collections.Counter, *_numpy_globals(), *_mmengine_globals()]


# the first bytes of what torch.save writes: a zip archive, or (before torch 1.6) a pickle
CHECKPOINT_MAGIC = (b'PK\x03\x04', b'\x80')
OTHER_MAGIC = {b'\x89PNG': 'a PNG image', b'\xff\xd8\xff': 'a JPEG image', b'{': 'a JSON file',
               b'GIF8': 'a GIF image', b'\x08': 'an ONNX graph', b'\x1f\x8b': 'a gzip archive'}


def what_file_holds(path: str) -> str:
    """``''`` when ``path`` starts like a PyTorch checkpoint, else what it looks like."""
    with open(path, 'rb') as f:
        head = f.read(8)
    if not head:
        return 'an empty file'
    if head.startswith(CHECKPOINT_MAGIC):
        return ''
    for magic, kind in OTHER_MAGIC.items():
        if head.startswith(magic):
            return kind
    return 'text' if all(32 <= byte < 127 or byte in b'\t\r\n' for byte in head) else 'data of an unknown kind'


def is_whole_checkpoint(path: str) -> bool:
    """Whether ``path`` is a checkpoint file that :func:`load_checkpoint_file` reads to its end.

    A zip checkpoint is checked by its directory alone, which sits at the very end of the
    file (a truncated one has none); any other (a pre-zip pickle) is read whole.
    """
    try:
        if what_file_holds(path):
            return False
        if zipfile.is_zipfile(path):
            return True
        load_checkpoint_file(path)
        return True
    except (OSError, CheckpointError):
        return False


def require_checkpoint(path: str, what: str = 'checkpoint', advice: str = '') -> None:
    """Raises :class:`CheckpointError` naming ``path`` (and its absolute form) when no such file
    exists; remote paths (``s3://...``) are left to their loader. ``what`` names the file for the
    user, ``advice`` ends the message."""
    path = os.fspath(path)
    if '://' not in path and not os.path.isfile(path):
        raise CheckpointError(f'{what} not found: {path!r} (resolved: {os.path.abspath(path)}){advice}')


def load_checkpoint_file(path: str, map_location='cpu') -> dict:
    """Loads ``path``, allowing only :func:`allowed_globals`.

    Raises:
        CheckpointError: the file is missing, not a checkpoint at all,
            corrupt or truncated, or holds a type that is not allowed.
    """
    path = os.fspath(path)
    require_checkpoint(path)
    kind = what_file_holds(path)
    if kind:
        raise CheckpointError(f'{path!r} is not a PyTorch checkpoint: it holds {kind}. Pass the .pth '
                              'file written by training (or a released SwiftFormer checkpoint)')
    try:
        with torch.serialization.safe_globals(allowed_globals()):
            checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        raise CheckpointError(
            f'refused to load {path!r}: it contains an object that is not on the allow-list of '
            f'checkpoint types, so unpickling it could run code. If you trust the file, re-save '
            f'its tensors as a plain state dict. Details: {error}') from None
    except (EOFError, KeyError, zipfile.BadZipFile, RuntimeError) as error:  # KeyError: not a pickle
        raise CheckpointError(f'{path!r} is not a readable PyTorch checkpoint (truncated or '
                              f'corrupt?): {error}') from None
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f'{path!r} holds a {type(checkpoint).__name__}, not a state dict')
    return checkpoint
