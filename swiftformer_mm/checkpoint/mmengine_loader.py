"""Routes MMEngine's loading of local checkpoint files through the safe loader.

mmengine 0.10.7 calls ``torch.load`` without ``weights_only``, so under
torch>=2.6 it refuses the runner's own checkpoints (numpy scalars, a
``HistoryBuffer``) and the released SwiftFormer files: ``load_from``,
``--resume`` and the inferencers fail. Importing ``swiftformer_mm``
registers :func:`load_from_local_safely` for plain paths instead, which keeps
``weights_only=True`` and allows exactly the types such files contain.
"""
import os

from mmengine.runner.checkpoint import CheckpointLoader

from .safe_load import load_checkpoint_file


@CheckpointLoader.register_scheme(prefixes='', force=True)
def load_from_local_safely(filename: str, map_location=None) -> dict:
    """MMEngine's loader for local paths, with :func:`load_checkpoint_file` underneath."""
    return load_checkpoint_file(os.path.expanduser(filename), map_location)
