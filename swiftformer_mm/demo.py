"""The embedded demo behind ``tools/demo.py`` (``make demo``): both demos trained, evaluated and drawn.

Every step runs a tool of the repository as its own command, as a user would;
each run goes to a new ``<work_dir>/<timestamp>/`` folder.
"""
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

from .data.shapes import MARKER, finished_settings
from .engine.atomic_backend import write_atomically
from .utils import newest_run_file

DEMOS = {
    'maskrcnn': dict(config='configs/demo/maskrcnn_swiftformer_xs_shapes.py',
                     metrics=('coco/bbox_mAP', 'coco/segm_mAP', 'coco/bbox_mAP_50', 'coco/segm_mAP_50'),
                     data='coco'),
    'semantic_fpn': dict(config='configs/demo/fpn_swiftformer_xs_shapes.py', metrics=('mIoU', 'aAcc'),
                         data='ade'),
}
# the data of the full and the quick demo: arguments of tools/misc/make_demo_data.py
FULL_DATA = dict(num_train=400, num_val=50, size=160, seed=0)
QUICK_DATA = dict(num_train=8, num_val=4, size=64, seed=0)
QUICK_OPTIONS = {
    'maskrcnn': ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1', 'param_scheduler.1.end=1',
                 'train_dataloader.batch_size=2'],
    'semantic_fpn': ['train_cfg.max_iters=4', 'train_cfg.val_interval=4', 'param_scheduler.0.end=2',
                     'param_scheduler.1.begin=2', 'param_scheduler.1.end=4',
                     'default_hooks.checkpoint.interval=4', 'train_dataloader.batch_size=2'],
}


class DemoStopped(RuntimeError):
    """A step of the demo failed; the message (``demo stopped: ...``) names it."""


def run_tool(repo: Path, tool: str, *args) -> None:
    """Runs ``repo/tools/<tool>`` with this interpreter, the command echoed first.

    Raises:
        DemoStopped: the tool exited with a non-zero status.
    """
    command = [sys.executable, str(repo / 'tools' / tool), *map(str, args)]
    print(f'\n$ {" ".join(command[1:])}', flush=True)
    result = subprocess.run(command, cwd=repo)
    if result.returncode != 0:
        raise DemoStopped(f'demo stopped: {Path(tool).name} failed with exit code {result.returncode}')


def cfg_options(name: str, data_dir: Path, quick: bool) -> List[str]:
    """The ``--cfg-options`` of demo ``name``: its data under ``data_dir`` (as
    ``tools/misc/make_demo_data.py`` lays it out), and with ``quick`` a schedule of a few steps."""
    root = data_dir / DEMOS[name]['data']
    options = [f'{split}_dataloader.dataset.data_root={root}/' for split in ('train', 'val', 'test')]
    if DEMOS[name]['data'] == 'coco':
        ann_file = root / 'annotations' / 'instances_val.json'
        options += [f'val_evaluator.ann_file={ann_file}', f'test_evaluator.ann_file={ann_file}']
    return options + (QUICK_OPTIONS[name] if quick else [])


def make_data(repo: Path, data_dir: Path, quick: bool) -> None:
    """Makes the demo data in ``data_dir`` unless it holds a finished data set of the same
    settings; replaces one of other settings (``--quick``'s, say) or one cut off half-way.

    Raises:
        DemoStopped: ``data_dir`` holds files of something else, or the generator failed.
    """
    wanted = QUICK_DATA if quick else FULL_DATA
    found = finished_settings(data_dir)
    if found == wanted:
        print(f'using the existing demo data in {data_dir}')
        return
    ours = (data_dir / MARKER).is_file()
    if not ours and data_dir.is_dir() and any(data_dir.iterdir()):
        raise DemoStopped(f'demo stopped: {data_dir} holds files but no demo data set (no {MARKER}): delete '
                          'the folder if an older version made it, or pass --data-dir with another folder')
    if ours:
        print(f'the demo data in {data_dir} was ' + ('made with other settings' if found else 'not finished')
              + ': making it again')
    arguments = [f'--{name.replace("_", "-")}={value}' for name, value in wanted.items()]
    run_tool(repo, 'misc/make_demo_data.py', '--out-dir', data_dir, *arguments, *(['--overwrite'] if ours else []))


def newest_metrics(work_dir: Path) -> dict:
    """The metrics that ``tools/test.py`` wrote (``<timestamp>/<timestamp>.json``) in its newest run.

    Raises:
        DemoStopped: there are none.
    """
    path = newest_run_file(work_dir, '*.json')
    if path is None:
        raise DemoStopped(f'demo stopped: tools/test.py wrote no metrics under {work_dir}')
    return json.loads(path.read_text())


def run_demo(repo: Path, name: str, data_dir: Path, run_dir: Path, quick: bool) -> dict:
    """Trains, tests and draws demo ``name`` in ``run_dir/name``; returns what the summary shows."""
    spec, work_dir = DEMOS[name], run_dir / name
    options = cfg_options(name, data_dir, quick)
    started = time.time()
    run_tool(repo, 'train.py', spec['config'], '--work-dir', work_dir, '--cfg-options', *options)
    train_seconds = time.time() - started
    checkpoint = Path((work_dir / 'last_checkpoint').read_text().strip())
    test_dir = work_dir / 'test'
    run_tool(repo, 'test.py', spec['config'], checkpoint, '--work-dir', test_dir, '--cfg-options', *options)
    metrics = newest_metrics(test_dir)
    images = work_dir / 'images'
    run_tool(repo, 'visualize.py', spec['config'], checkpoint, '--with-gt', '--split', 'val', '--out-dir',
             images, '--cfg-options', *options)
    curves = work_dir / 'training_curves.png'
    run_tool(repo, 'analysis_tools/plot_training.py', work_dir, '--out', curves)
    return dict(metrics={k: metrics[k] for k in spec['metrics'] if k in metrics},
                train_minutes=train_seconds / 60, checkpoint=checkpoint, images=images, curves=curves)


def run_demos(repo: Path, data_dir: Path, work_dir: Path, only: Optional[str] = None, quick: bool = False) -> Path:
    """Makes the data (unless ``data_dir`` holds it), runs the demos (``only`` one of them) in a new
    timestamped folder of ``work_dir``, prints a summary and writes it to ``summary.json`` there;
    returns the folder.

    Raises:
        DemoStopped: a step failed.
    """
    started = time.time()
    make_data(repo, data_dir, quick)
    run_dir = work_dir / time.strftime('%Y%m%d_%H%M%S')
    results: Dict[str, dict] = {name: run_demo(repo, name, data_dir.resolve(), run_dir, quick)
                                for name in DEMOS if only in (None, name)}

    print(f'\n=== demo finished in {(time.time() - started) / 60:.1f} min; everything is in {run_dir}')
    for name, result in results.items():
        figures = ', '.join(f'{k} {v:.3f}' if isinstance(v, float) else f'{k} {v}'
                            for k, v in result['metrics'].items())
        print(f'{name}: {figures} (training {result["train_minutes"]:.1f} min)')
        print(f'  checkpoint:        {result["checkpoint"]}')
        print(f'  qualitative images: {result["images"]}')
        print(f'  training curves:   {result["curves"]}')
    write_atomically(run_dir / 'summary.json', json.dumps(
        {name: {k: str(v) if isinstance(v, Path) else v for k, v in r.items()} for name, r in results.items()},
        indent=2).encode())
    return run_dir
