"""The bound that :class:`~.compiled.CompiledForward` and :class:`~.cuda_graphs.GraphedForward`
share: each prepares its inputs once per key (compiles, or captures a graph) and keeps at most
``max_shapes`` keys; beyond them new inputs run eagerly, said once in the log."""
import logging
from typing import Optional

import torch
from mmengine.logging import print_log


def input_key(x: torch.Tensor) -> tuple:
    """What a compiled or captured forward is specialised to: shape, dtype, device and autocast state."""
    device = x.device.type
    autocast = torch.is_autocast_enabled(device)
    return (tuple(x.shape), x.dtype, x.device, autocast, torch.get_autocast_dtype(device) if autocast else None)


class ShapeBudget:
    """The keys (:func:`input_key`) a wrapper has prepared, at most ``max_shapes``.

    Args:
        owner (str): The wrapper's name, for the log line.
        prepared (str): What it does per key (``'compiled'``, ``'captured'``), for the log line.
        max_shapes (int): Keys kept at most.
    """

    def __init__(self, owner: str, prepared: str, max_shapes: int):
        if max_shapes < 1:
            raise ValueError(f'max_shapes must be at least 1, got {max_shapes}')
        self.owner, self.prepared, self.max_shapes = owner, prepared, max_shapes
        self.keys = set()
        self._said_full = False

    def admit(self, x: torch.Tensor) -> Optional[tuple]:
        """``x``'s key if it is prepared or is now taken in; None when the budget is spent (then
        ``x`` is to run eagerly; the first time, a warning says so)."""
        key = input_key(x)
        if key in self.keys:
            return key
        if len(self.keys) >= self.max_shapes:
            if not self._said_full:
                print_log(f'{self.owner}: {self.max_shapes} input shapes {self.prepared}; shape {tuple(x.shape)} '
                          'and any further new shape run eagerly (raise max_shapes, or resize inputs to fewer '
                          'shapes)', logger='current', level=logging.WARNING)
                self._said_full = True
            return None
        self.keys.add(key)
        return key
