"""Reading, converting and loading SwiftFormer checkpoints of every known format."""
from . import mmengine_loader  # noqa: F401  (registers safe loading in MMEngine)
from .convert import convert_checkpoint, save_clean_checkpoint
from .key_maps import FORMATS, convert_from_ours, convert_to_ours, detect_format
from .loading import (backbone_state_dict, check_pretrained_exists, load_backbone_weights,
                      load_pretrained, select_state_dict)
from .safe_load import CheckpointError, is_whole_checkpoint, load_checkpoint_file, require_checkpoint

__all__ = [
    'FORMATS', 'CheckpointError', 'backbone_state_dict', 'check_pretrained_exists', 'convert_checkpoint',
    'convert_from_ours', 'convert_to_ours', 'detect_format', 'is_whole_checkpoint', 'load_backbone_weights',
    'load_checkpoint_file', 'load_pretrained', 'require_checkpoint', 'save_clean_checkpoint', 'select_state_dict'
]
