"""Evaluates a checkpoint of an mmdet or mmseg config (told apart by its ``default_scope``).

The metrics go to ``<work_dir>/<timestamp>/<timestamp>.json`` (printed at
the end). ``--out`` and ``--show-dir`` follow each library's own tools:
detection dumps a .pkl of predictions and draws into
``<work_dir>/<timestamp>/<show_dir>``; segmentation writes PNG label maps into
the folder ``--out`` and draws into ``<show_dir>/vis_data/vis_image``. A
``--out`` file that exists, or a ``--out``/``--show-dir`` folder that holds
files, is refused before the run unless ``--overwrite``; so is a work dir that
another train.py or test.py run is using.
``--deploy`` evaluates the backbone in its deploy form (BatchNorms and layer
scales folded after loading the checkpoint; same predictions, faster).

Examples::

    python tools/test.py configs/demo/maskrcnn_swiftformer_xs_shapes.py work_dirs/x/epoch_12.pth
    python tools/test.py CONFIG CHECKPOINT --out results.pkl --show-dir painted
    bash tools/dist_test.sh CONFIG CHECKPOINT 8
"""
import argparse
import sys

from mmengine.dist import is_main_process

from swiftformer_mm.cli import (RUN_ERRORS, CheckpointError, ConfigError, DataError, add_fast_inference_args,
                                build_runner, check_backbone, check_data_paths, check_num_classes, check_outputs,
                                draw_predictions, drawn_images_dir, dump_predictions, error_message, evaluate_fast,
                                evaluate_in_deploy_form, guard_pipelines, hold_work_dir, load_run_config,
                                load_strictly, metrics_file, parse_runner_args, require_checkpoint, setup_distributed,
                                task_of)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='config file (mmdet or mmseg)')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out', help='also save the predictions: detection, a .pkl file; segmentation, a folder '
        'of PNG label maps')
    parser.add_argument(
        '--show-dir', help='draw the predictions on every test image into this folder (detection: '
        'under <work_dir>/<timestamp>/ when relative)')
    parser.add_argument(
        '--overwrite', action='store_true',
        help='write over an existing --out file, or into a --out/--show-dir folder that holds '
        'files (files of the same name are replaced, others are left)')
    parser.add_argument(
        '--deploy', action='store_true',
        help='evaluate every SwiftFormer in its deploy form, folded after loading the checkpoint')
    add_fast_inference_args(parser)
    return parse_runner_args(parser, argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        cfg = load_run_config(args.config, args.work_dir, args.cfg_options, args.launcher)
        task = task_of(cfg)
        require_checkpoint(args.checkpoint)
        check_outputs(task, args.out, args.show_dir, args.overwrite)  # before any work
        check_backbone(cfg, pretrained=False)  # the checkpoint holds the weights
        check_data_paths(cfg, ['test'])
        check_num_classes(cfg, ['test'])
        hold_work_dir(cfg.work_dir, cfg.launcher)  # its dumped config and logs: one run at a time
        if args.out:
            dump_predictions(cfg, task, args.out)
        if args.show_dir:
            draw_predictions(cfg, task, args.show_dir)
        load_strictly(cfg)
        if args.deploy:
            evaluate_in_deploy_form(cfg)
        evaluate_fast(cfg, args.compile, args.cuda_graphs)
    except (ConfigError, CheckpointError, DataError, FileNotFoundError, FileExistsError) as error:
        sys.exit(f'error: {error}')
    cfg.load_from = args.checkpoint
    setup_distributed(cfg)
    try:
        runner = build_runner(cfg)
        guard_pipelines(runner, task)
        runner.test()
    except RUN_ERRORS as error:
        sys.exit(f'error: {error_message(error)}')
    if is_main_process():
        print(f'metrics: {metrics_file(runner)}')
        if args.out:
            print(f'predictions: {args.out}')
        if args.show_dir:
            drawn = drawn_images_dir(runner.work_dir, runner.timestamp, task, args.show_dir)
            print(f'drawn images: {drawn}')


if __name__ == '__main__':
    main()
