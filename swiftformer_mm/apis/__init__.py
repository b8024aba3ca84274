"""What ``tools/train.py``, ``test.py`` and ``visualize.py`` do, importable (and tested) here."""
from ..checkpoint import CheckpointError
from ..data import DataError
from ..engine import NonFiniteLossError
from . import quiet_warnings  # noqa: F401  (before any config is read)
from .cli import add_runner_args, export_local_rank, parse_size
from .consistency import check_num_classes
from .config import ConfigError, check_backbone, load_config, load_run_config
from .data_checks import check_data_paths, guard_pipeline, guard_pipelines
from .distributed import setup_distributed
from .errors import RUN_ERRORS, error_message
from .fault_tolerance import enable_fault_tolerance
from .outputs import check_outputs, draw_predictions, drawn_images_dir, dump_predictions
from .runner import build_runner, evaluate_in_deploy_form, load_strictly, metrics_file
from .task import TASKS, task_of
from .train_options import enable_amp, enable_auto_scale_lr, set_resume
from .work_dir import (WorkDirInUseError, check_work_dir, hold_work_dir, latest_checkpoint,
                       resolve_resume)

__all__ = [
    'add_runner_args', 'build_runner', 'check_backbone', 'check_data_paths', 'check_num_classes',
    'check_outputs', 'check_work_dir', 'CheckpointError', 'ConfigError', 'DataError', 'draw_predictions',
    'drawn_images_dir', 'dump_predictions', 'enable_amp', 'enable_auto_scale_lr', 'enable_fault_tolerance',
    'error_message', 'evaluate_in_deploy_form', 'export_local_rank', 'guard_pipeline', 'guard_pipelines',
    'hold_work_dir', 'latest_checkpoint', 'load_config', 'load_run_config', 'load_strictly', 'metrics_file',
    'NonFiniteLossError', 'parse_size', 'resolve_resume', 'RUN_ERRORS', 'set_resume', 'setup_distributed',
    'task_of', 'TASKS', 'WorkDirInUseError'
]
