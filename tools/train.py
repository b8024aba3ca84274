"""Trains an mmdet or mmseg config (told apart by its ``default_scope``) with MMEngine's Runner.

A work dir is used by one run at a time (a second run there is refused while
the first lives), and a new run is refused in a work dir that holds
checkpoints unless ``--resume`` continues them.

Examples::

    python tools/train.py configs/demo/maskrcnn_swiftformer_xs_shapes.py
    python tools/train.py CONFIG --resume                 # latest checkpoint in the work dir
    python tools/train.py CONFIG --resume work_dirs/x/epoch_4.pth \
        --cfg-options train_cfg.max_epochs=24
    bash tools/dist_train.sh CONFIG 8 --amp --auto-scale-lr
"""
import argparse
import sys

from mmengine.dist import is_main_process

from swiftformer_mm.cli import (RUN_ERRORS, ConfigError, DataError, build_runner, check_backbone, check_data_paths,
                                check_num_classes, check_work_dir, enable_amp, enable_auto_scale_lr,
                                enable_fault_tolerance, error_message, guard_pipelines, hold_work_dir,
                                load_run_config, parse_runner_args, resolve_resume, set_resume, setup_distributed,
                                task_of)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='config file (mmdet or mmseg)')
    parser.add_argument(
        '--resume', nargs='?', const='auto', metavar='CHECKPOINT',
        help='resume training (optimizer, schedule, iteration, random states) from CHECKPOINT; '
        'without CHECKPOINT, from the latest whole checkpoint in the work dir (from the start '
        'if there is none yet). Without --resume, a work dir holding checkpoints is refused')
    parser.add_argument('--amp', action='store_true',
                        help='automatic mixed precision (AmpOptimWrapper; needs a GPU)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr by (GPUs x batch size) / auto_scale_lr.base_batch_size')
    parser.add_argument('--skip-unreadable', action='store_true',
                        help='skip training samples whose image or label map cannot be read (missing, '
                        'empty, corrupt, truncated) with a warning, instead of stopping with an error naming the file')
    return parse_runner_args(parser, argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        cfg = load_run_config(args.config, args.work_dir, args.cfg_options, args.launcher)
        task = task_of(cfg)
        check_backbone(cfg)  # arguments, arch and pretrained file, before anything is built
        check_data_paths(cfg, ['train', 'val'])
        check_num_classes(cfg, ['train', 'val'])
        hold_work_dir(cfg.work_dir, cfg.launcher)  # one run at a time, from here to the end
        check_work_dir(cfg.work_dir, args.resume)  # a new run never overwrites an earlier one's files
        if args.amp:
            enable_amp(cfg)
        if args.auto_scale_lr:
            enable_auto_scale_lr(cfg)
        set_resume(cfg, resolve_resume(cfg.work_dir, args.resume))
    except (ConfigError, DataError, FileNotFoundError) as error:
        sys.exit(f'error: {error}')
    enable_fault_tolerance(cfg)  # atomic checkpoints, stop at a NaN loss, exact resumes
    setup_distributed(cfg)
    try:
        runner = build_runner(cfg)
        guard_pipelines(runner, task, skip_unreadable=args.skip_unreadable)
        runner.train()
    except RUN_ERRORS as error:
        sys.exit(f'error: {error_message(error)}')
    if is_main_process():
        print(f'checkpoints and logs: {runner.work_dir}')


if __name__ == '__main__':
    main()
