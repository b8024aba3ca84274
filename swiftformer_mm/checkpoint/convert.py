"""Clean checkpoint files: backbone weights and plain metadata, readable with ``weights_only=True``."""
import io
import os
from typing import Optional

import torch

from ..engine.atomic_backend import write_atomically
from .key_maps import convert_from_ours
from .loading import backbone_state_dict, select_state_dict
from .safe_load import load_checkpoint_file


def save_clean_checkpoint(state_dict: dict, path: str, key_format: str = 'swiftformer_mm',
                          meta: Optional[dict] = None) -> dict:
    """Writes ``{'state_dict': ..., 'meta': ...}`` to ``path``, whole or not at all, and returns it.

    ``state_dict`` (this project's key names) is written in ``key_format``'s
    names (one of ``FORMATS``), each tensor a contiguous copy of its own, so
    that a view does not carry its whole storage into the file. ``meta``
    (plain types only) gains ``key_format``.
    """
    checkpoint = dict(
        state_dict={k: v.detach().clone().contiguous() for k, v in convert_from_ours(state_dict, key_format).items()},
        meta={**(meta or {}), 'key_format': key_format})
    file = io.BytesIO()
    torch.save(checkpoint, file)
    write_atomically(path, file.getvalue())
    return checkpoint


def convert_checkpoint(src: str, dst: str, key_format: str = 'swiftformer_mm', use_ema: bool = False) -> dict:
    """The backbone weights of ``src`` (any known format; ``use_ema``: the official EMA weights)
    saved by :func:`save_clean_checkpoint` to ``dst``; returns what was written, its ``meta``
    naming the source file, ``source_format`` and ``ema``.

    Raises:
        CheckpointError: ``src`` is missing or unreadable, holds no SwiftFormer backbone, or
            no EMA weights with ``use_ema``.
    """
    weights = select_state_dict(load_checkpoint_file(src), use_ema=use_ema)
    state_dict, source_format = backbone_state_dict(weights)
    meta = dict(source=os.path.basename(src), source_format=source_format, ema=use_ema)
    return save_clean_checkpoint(state_dict, dst, key_format, meta)
