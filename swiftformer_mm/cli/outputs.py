"""What ``tools/test.py --out/--show-dir`` turn on, per task, following mmdet's and mmseg's tools.

* Detection: ``--out`` appends mmdet's ``DumpDetResults`` metric, which
  pickles the predictions (a list of dicts, one per image);
  ``--show-dir`` makes ``DetVisualizationHook`` draw every test image into
  ``<work_dir>/<timestamp>/<show_dir>`` (an absolute ``show_dir`` stays as is).
* Segmentation: ``--out`` is a folder where ``IoUMetric`` writes each
  prediction as a PNG label map (ADE20K-style values, i.e. +1 when the dataset
  uses ``reduce_zero_label``); ``--show-dir`` becomes the visualizer's
  ``save_dir`` and ``SegVisualizationHook`` draws every test image (its
  default draws one batch in 50) into ``<show_dir>/vis_data/vis_image``.

:func:`check_outputs` refuses, before the run, paths that hold earlier results.
"""
import os.path as osp
from typing import Optional

from mmengine.config import Config

from ..utils import refuse_overwrite
from ..config import ConfigError

# added when a config has none (mmseg's default_runtime.py has none; its schedules do)
VISUALIZATION_HOOKS = {'det': 'DetVisualizationHook', 'seg': 'SegVisualizationHook'}


def check_outputs(task: str, out: Optional[str], show_dir: Optional[str], overwrite: bool) -> None:
    """Refuses ``--out`` and ``--show-dir`` paths that hold results unless ``overwrite``.

    ``--out`` is a file for detection (refused if it exists) and a folder
    for segmentation (refused if it holds files); so is a segmentation
    ``--show-dir``. A relative detection ``--show-dir`` lands in the new
    ``<work_dir>/<timestamp>/`` of this run and needs no check.

    Raises:
        OutputExistsError: see :func:`swiftformer_mm.utils.refuse_overwrite`.
    """
    if out:
        refuse_overwrite(out, overwrite, '--out', folder=task == 'seg')
    if show_dir and (task == 'seg' or osp.isabs(show_dir)):
        refuse_overwrite(show_dir, overwrite, '--show-dir', folder=True)


def dump_predictions(cfg: Config, task: str, out: str) -> None:
    """Makes the test evaluator also save the predictions to ``out``."""
    metrics = cfg.test_evaluator if isinstance(cfg.test_evaluator, list) else [cfg.test_evaluator]
    if task == 'det':
        if not out.endswith(('.pkl', '.pickle')):
            raise ConfigError(f'--out {out!r}: detection predictions are dumped as a pickle, '
                              'give a file name ending in .pkl or .pickle')
        cfg.test_evaluator = [*metrics, dict(type='DumpDetResults', out_file_path=out)]
    else:
        for metric in metrics:
            metric['output_dir'] = out
            metric['keep_results'] = True  # CityscapesMetric deletes its files otherwise


def draw_predictions(cfg: Config, task: str, show_dir: str) -> None:
    """Turns on (adding it if missing) the visualization hook so that every test image is drawn."""
    if cfg.get('default_hooks') is None:
        cfg.default_hooks = {}
    if cfg.default_hooks.get('visualization') is None:
        cfg.default_hooks.visualization = dict(type=VISUALIZATION_HOOKS[task])
    hook = cfg.default_hooks.visualization
    hook['draw'] = True
    if task == 'det':
        hook['test_out_dir'] = show_dir
    else:
        hook['interval'] = 1
        cfg.visualizer['save_dir'] = show_dir


def drawn_images_dir(work_dir: str, timestamp: str, task: str, show_dir: str) -> str:
    """Where :func:`draw_predictions` makes the test images land."""
    if task == 'det':
        return osp.join(work_dir, timestamp, show_dir)
    return osp.join(show_dir, 'vis_data', 'vis_image')
