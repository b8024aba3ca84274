"""What ``tools/train.py``, ``test.py`` and ``visualize.py`` do, importable (and tested) here."""
from ..engine import NonFiniteLossError
from .cli import add_runner_args, export_local_rank
from .config import ConfigError, check_backbone_weights, load_config, load_run_config
from .distributed import setup_distributed
from .fault_tolerance import enable_fault_tolerance
from .outputs import draw_predictions, drawn_images_dir, dump_predictions
from .runner import build_runner, metrics_file
from .task import TASKS, task_of
from .train_options import enable_amp, enable_auto_scale_lr, set_resume
from .work_dir import check_work_dir, latest_checkpoint, resolve_resume

__all__ = [
    'ConfigError', 'TASKS', 'add_runner_args', 'build_runner', 'check_backbone_weights', 'draw_predictions',
    'drawn_images_dir', 'dump_predictions', 'enable_amp', 'enable_auto_scale_lr',
    'enable_fault_tolerance', 'check_work_dir', 'latest_checkpoint', 'resolve_resume', 'NonFiniteLossError',
    'export_local_rank', 'load_config', 'load_run_config', 'metrics_file', 'set_resume',
    'setup_distributed', 'task_of'
]
