"""What ``tools/train.py``, ``test.py`` and ``visualize.py`` do, importable and tested here.

- :mod:`.args`: the command-line options the tools share;
- :mod:`.runner`: the run's config prepared (work dir, fault tolerance, AMP, lr scaling,
  resume, strict loading, deploy form), the Runner built, its errors as one line;
- :mod:`.checks` and :mod:`.data_checks`: a config's mismatches and missing or unreadable
  data files, found before anything is built;
- :mod:`.work_dir`: one run per work dir, and what ``--resume`` resumes from;
- :mod:`.distributed`: launcher set-up;
- :mod:`.outputs` (``test.py --out/--show-dir``), :mod:`.images`, :mod:`.visualization` and
  :mod:`.panels` (``visualize.py``).

Library code does not import this package; the tools do.
"""
from ..checkpoint import CheckpointError, require_checkpoint
from ..config import TASKS, ConfigError, load_config, task_of
from ..data import DataError
from ..engine import NonFiniteLossError
from .args import add_fast_inference_args, parse_runner_args, parse_size
from .checks import check_backbone, check_num_classes
from .data_checks import check_data_paths, guard_pipeline, guard_pipelines
from .distributed import setup_distributed
from .outputs import check_outputs, draw_predictions, drawn_images_dir, dump_predictions
from .runner import (RUN_ERRORS, build_runner, enable_amp, enable_auto_scale_lr, enable_fault_tolerance,
                     error_message, evaluate_fast, evaluate_in_deploy_form, load_run_config, load_strictly,
                     metrics_file, set_resume)
from .work_dir import WorkDirInUseError, check_work_dir, hold_work_dir, latest_checkpoint, resolve_resume

__all__ = [
    'add_fast_inference_args', 'build_runner', 'check_backbone', 'check_data_paths', 'check_num_classes',
    'check_outputs', 'check_work_dir', 'CheckpointError', 'ConfigError', 'DataError', 'draw_predictions',
    'drawn_images_dir', 'dump_predictions', 'enable_amp', 'enable_auto_scale_lr', 'enable_fault_tolerance',
    'error_message', 'evaluate_fast', 'evaluate_in_deploy_form', 'guard_pipeline', 'guard_pipelines',
    'hold_work_dir', 'latest_checkpoint', 'load_config', 'load_run_config', 'load_strictly', 'metrics_file',
    'NonFiniteLossError', 'parse_runner_args', 'parse_size', 'require_checkpoint', 'resolve_resume', 'RUN_ERRORS',
    'set_resume', 'setup_distributed', 'task_of', 'TASKS', 'WorkDirInUseError'
]
