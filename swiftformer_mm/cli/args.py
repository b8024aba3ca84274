"""Command-line options shared by the tools."""
import argparse
import os

from mmengine.config import DictAction

from ..utils import parse_size  # noqa: F401  (re-exported for the tools)

LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')


def add_runner_args(parser: argparse.ArgumentParser) -> None:
    """Adds ``--work-dir``, ``--cfg-options``, ``--launcher`` and ``--local-rank``."""
    parser.add_argument(
        '--work-dir',
        help='folder for logs, checkpoints and metrics (default: the config\'s work_dir, '
        'else work_dirs/<config name>)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. train_dataloader.batch_size=2 '
        'model.backbone.arch=l1 (lists: key="[a,b]" or key=a,b; no spaces)')
    parser.add_argument(
        '--launcher', choices=LAUNCHERS, default='none',
        help='job launcher; tools/dist_*.sh pass pytorch, tools/slurm_*.sh pass slurm')
    # torch.distributed.launch passes --local-rank (torch>=2.0) or --local_rank
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0, help=argparse.SUPPRESS)


def parse_runner_args(parser: argparse.ArgumentParser, argv=None) -> argparse.Namespace:
    """``argv`` parsed by ``parser`` with :func:`add_runner_args`; sets ``LOCAL_RANK`` from
    ``--local-rank`` unless the launcher set it (torchrun does)."""
    add_runner_args(parser)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def add_fast_inference_args(parser: argparse.ArgumentParser) -> None:
    """Adds ``--compile`` and ``--cuda-graphs`` (:mod:`swiftformer_mm.ops.fast_inference`)."""
    parser.add_argument(
        '--compile', action='store_true',
        help='compile the backbone and neck (and a segmentor\'s decode head) with torch.compile, once per '
        'input shape (meant for a GPU; with --deploy, the deploy form); detection heads stay eager')
    parser.add_argument(
        '--cuda-graphs', action='store_true',
        help='on a GPU, replay the backbone and neck (and a segmentor\'s decode head) as CUDA graphs, one per '
        'input shape (fast at batch 1; with --compile, of the compiled kernels); detection heads stay eager')
