"""The embedded default: trains, evaluates and draws both demos on synthetic data.

Runs, as a user would, every step as its own command:

1. ``tools/misc/make_demo_data.py``: the seeded "shapes" data set (kept and reused
   when it is already there);
2. ``tools/train.py`` on ``configs/demo/maskrcnn_swiftformer_xs_shapes.py``
   and ``configs/demo/fpn_swiftformer_xs_shapes.py``, from scratch;
3. ``tools/test.py`` on the final checkpoint: the metrics of the val split;
4. ``tools/visualize.py --with-gt``: a ground truth | prediction panel for
   every val image;
5. ``tools/analysis_tools/plot_training.py``: training loss and validation metrics (PNG).

Each run goes to a new folder ``work_dirs/demo/<timestamp>/`` so nothing of an
earlier run is overwritten. ``--quick`` shrinks data and schedules to a
smoke test of the whole chain (the tests use it); its metrics mean nothing.
"""
import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TOOLS = REPO / 'tools'
DEMOS = {
    'maskrcnn': dict(config='configs/demo/maskrcnn_swiftformer_xs_shapes.py',
                     metrics=('coco/bbox_mAP', 'coco/segm_mAP', 'coco/bbox_mAP_50', 'coco/segm_mAP_50'),
                     data='coco'),
    'semantic_fpn': dict(config='configs/demo/fpn_swiftformer_xs_shapes.py', metrics=('mIoU', 'aAcc'),
                         data='ade'),
}
QUICK_DATA = ['--num-train', '8', '--num-val', '4', '--size', '64']
QUICK_OPTIONS = {
    'maskrcnn': ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1', 'param_scheduler.1.end=1',
                 'train_dataloader.batch_size=2'],
    'semantic_fpn': ['train_cfg.max_iters=4', 'train_cfg.val_interval=4', 'param_scheduler.0.end=2',
                     'param_scheduler.1.begin=2', 'param_scheduler.1.end=4',
                     'default_hooks.checkpoint.interval=4', 'train_dataloader.batch_size=2'],
}


def run(*args) -> None:
    """Runs one tool with this interpreter; a failure stops the demo with its exit code."""
    command = [sys.executable, *map(str, args)]
    print(f'\n$ {" ".join(command[1:])}', flush=True)
    result = subprocess.run(command, cwd=REPO)
    if result.returncode != 0:
        sys.exit(f'demo stopped: {Path(str(args[0])).name} failed with exit code {result.returncode}')


def newest_metrics(work_dir: Path) -> dict:
    """The metrics that ``tools/test.py`` wrote (``<timestamp>/<timestamp>.json``)."""
    files = sorted(work_dir.glob('*/*.json'), key=lambda p: p.stat().st_mtime)
    if not files:
        sys.exit(f'demo stopped: tools/test.py wrote no metrics under {work_dir}')
    return json.loads(files[-1].read_text())


def run_demo(name: str, spec: dict, data_dir: Path, run_dir: Path, quick: bool) -> dict:
    work_dir = run_dir / name
    options = [f'train_dataloader.dataset.data_root={data_dir / spec["data"]}/',
               f'val_dataloader.dataset.data_root={data_dir / spec["data"]}/',
               f'test_dataloader.dataset.data_root={data_dir / spec["data"]}/']
    if spec['data'] == 'coco':
        ann_file = data_dir / 'coco' / 'annotations' / 'instances_val.json'
        options += [f'val_evaluator.ann_file={ann_file}', f'test_evaluator.ann_file={ann_file}']
    if quick:
        options += QUICK_OPTIONS[name]
    started = time.time()
    run(TOOLS / 'train.py', spec['config'], '--work-dir', work_dir, '--cfg-options', *options)
    train_seconds = time.time() - started
    checkpoint = Path((work_dir / 'last_checkpoint').read_text().strip())
    test_dir = work_dir / 'test'
    run(TOOLS / 'test.py', spec['config'], checkpoint, '--work-dir', test_dir, '--cfg-options', *options)
    metrics = newest_metrics(test_dir)
    images = work_dir / 'images'
    run(TOOLS / 'visualize.py', spec['config'], checkpoint, '--with-gt', '--split', 'val', '--out-dir',
        images, '--cfg-options', *options)
    curves = work_dir / 'training_curves.png'
    run(TOOLS / 'analysis_tools' / 'plot_training.py', work_dir, '--out', curves)
    return dict(metrics={k: metrics[k] for k in spec['metrics'] if k in metrics},
                train_minutes=train_seconds / 60, checkpoint=checkpoint, images=images, curves=curves)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--data-dir', type=Path, default=REPO / 'data' / 'shapes',
                        help='where the synthetic data is (made there if absent)')
    parser.add_argument('--work-dir', type=Path, default=REPO / 'work_dirs' / 'demo',
                        help='parent of the timestamped run folder')
    parser.add_argument('--only', choices=sorted(DEMOS), help='run one of the two demos')
    parser.add_argument('--quick', action='store_true', help='tiny data and schedule: a smoke test')
    args = parser.parse_args(argv)

    started = time.time()
    if (args.data_dir / 'coco').is_dir() and (args.data_dir / 'ade').is_dir():
        print(f'using the existing demo data in {args.data_dir}')
    else:
        run(TOOLS / 'misc' / 'make_demo_data.py', '--out-dir', args.data_dir, *(QUICK_DATA if args.quick else []))
    run_dir = args.work_dir / time.strftime('%Y%m%d_%H%M%S')
    results = {name: run_demo(name, spec, args.data_dir.resolve(), run_dir, args.quick)
               for name, spec in DEMOS.items() if args.only in (None, name)}

    print(f'\n=== demo finished in {(time.time() - started) / 60:.1f} min; everything is in {run_dir}')
    for name, result in results.items():
        figures = ', '.join(f'{k} {v:.3f}' if isinstance(v, float) else f'{k} {v}'
                            for k, v in result['metrics'].items())
        print(f'{name}: {figures} (training {result["train_minutes"]:.1f} min)')
        print(f'  checkpoint:        {result["checkpoint"]}')
        print(f'  qualitative images: {result["images"]}')
        print(f'  training curves:   {result["curves"]}')
    (run_dir / 'summary.json').write_text(json.dumps(
        {name: {k: str(v) if isinstance(v, Path) else v for k, v in r.items()} for name, r in results.items()},
        indent=2))


if __name__ == '__main__':
    main()
