"""The command line: ``main(argv)``, behind ``tools/analysis_tools/benchmark.py``."""
import argparse
import shlex
import sys
from typing import List, Optional, Sequence

import torch

from ..models import SwiftFormer
from ..models.swiftformer import CHANNELS_LAST_DEVICES
from ..utils import OutputExistsError, parse_size, refuse_overwrite
from .breakdown import breakdown_table, run_breakdown
from .candidates import LAYOUTS, Candidate, in_channels_last, swiftformer_candidates
from .cold_heap import run_cold_heap
from .dense_part import DENSE_PARTS, dense_part
from .measure import macs_of, measure
from .peers import (compiled_timm_candidate, hf_candidate, peer_with_dense_part, resnet50_candidate,
                    timm_candidate)
from .ratios import add_ratios
from .report import COLD_HEAP_COLUMNS, header, machine_info, markdown_table, plot, write_json
from .timing import DTYPES, PASSES, matmul_rate

MODES = ('table', 'breakdown', 'cold-heap')
DEFAULT_SIZES = {'table': [(800, 1216), (512, 512)], 'breakdown': [(512, 512)], 'cold-heap': [(800, 1216)]}

DESCRIPTION = """\
Speed of the SwiftFormer backbone next to its peers, in one process.

Modes:
  table      every model at every size and dtype, in interleaved rounds (one call
             of each model per round): batch-1 latency, batch-N throughput, a
             training step (forward in train mode, loss = sum of the four maps'
             means, backward; no optimizer), peak memory, page faults (CPU),
             MACs, the speed-ups of each SwiftFormer row over HF, timm and
             ResNet-50; prints a markdown table, writes JSON and a PNG.
  breakdown  the time of each pass by kind of op (matrix products, convolutions,
             GELU, batch norm, other) from torch.profiler: self CPU time on the
             CPU, GPU kernel time on CUDA; and each row's heaviest ATen ops or
             GPU kernels.
  cold-heap  batch-1 latency and page faults with glibc's heap as a fresh process
             has it (CPU only; one size).

Models: this project's SwiftFormer training form (in eval mode for inference)
and deploy form (switch_to_deploy), the deploy form in onnxruntime (CPU, fp32),
with --compile both forms through torch.compile, with --cuda-graphs the deploy
form replayed as CUDA graphs (with both: of its compiled kernels); peers: HF
transformers' SwiftFormerModel, timm's swiftformer_<arch> (features_only; with
--compile also compiled, mode reduce-overhead), ResNet-50 (mmdet's, else
torchvision's trunk). A peer whose package does not import is skipped
with a note. Timer: CUDA events on CUDA, time.perf_counter on the CPU.
"""

EPILOG = """\
examples:
  %(prog)s --arch l1 --sizes 800x1216 512x512 --threads 2 --out-json l1.json --out-png l1.png
  %(prog)s --device cuda --arch l1 --sizes 512x512 --dtypes fp32 fp16 bf16 \\
      --passes throughput train --batch 16 --train-batch 8 --no-macs
  %(prog)s --mode breakdown --arch l1 --sizes 512x512 --threads 2 --train-batch 2
  %(prog)s --mode cold-heap --arch l1 --sizes 800x1216 --threads 2 --reps 7
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='tools/analysis_tools/benchmark.py', description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--mode', default='table', choices=MODES, help='what to measure (default: table)')
    parser.add_argument('--arch', nargs='+', default=['l1'], choices=sorted(SwiftFormer.arch_settings),
                        help='SwiftFormer variants (default: l1)')
    parser.add_argument('--sizes', nargs='+', type=parse_size, metavar='HxW',
                        help='input sizes (default: 800x1216 512x512; breakdown: 512x512; cold-heap: 800x1216)')
    parser.add_argument('--device', default='auto', choices=['auto', 'cpu', 'cuda'],
                        help='auto: CUDA when available, except for cold-heap (default: auto)')
    parser.add_argument('--dtypes', nargs='+', default=['fp32'], choices=list(DTYPES),
                        help='fp32, and autocast to fp16 (CUDA only) or bf16 (default: fp32)')
    parser.add_argument('--passes', nargs='+', choices=PASSES,
                        help='latency: batch-1 forward; throughput: batch --batch forward; train: training '
                        'step of --train-batch (default: all; cold-heap: latency)')
    parser.add_argument('--batch', type=int, default=4, help='throughput batch (default: 4)')
    parser.add_argument('--train-batch', type=int, default=2, help='training-step batch (default: 2)')
    parser.add_argument('--reps', type=int, help='timed rounds (default: 5 on CPU, 10 on CUDA)')
    parser.add_argument('--warmup', type=int, help='untimed calls of each first (default: 2 on CPU, 3 on CUDA)')
    parser.add_argument('--threads', type=int, help="CPU threads (default: torch's)")
    parser.add_argument('--no-peers', action='store_true', help='only this project\'s rows: no HF, timm, ResNet-50')
    parser.add_argument('--cuda-graphs', action='store_true',
                        help='table, CUDA: also the deploy form replayed as CUDA graphs (capture time reported)')
    parser.add_argument('--compile', action='store_true',
                        help='table: also both forms and timm (mode reduce-overhead) through torch.compile, and with '
                        '--cuda-graphs the fast inference mode (compile times reported; slow)')
    parser.add_argument('--with-neck', nargs='?', const='maskrcnn', choices=DENSE_PARTS,
                        help="table: every model followed by a paper config's neck, as the fast inference mode of "
                        "tools/test.py runs them: maskrcnn (the default), Mask R-CNN's FPN; semantic-fpn, the ADE20K "
                        "configs' FPN and decode head (the libraries' modules, else the same computation in plain "
                        'torch)')
    parser.add_argument('--layouts', nargs='+', choices=LAYOUTS, default=['nchw'],
                        help='memory formats of the models\' weights: nchw (PyTorch\'s default), channels-last '
                        '(each model then runs in that layout; not the onnxruntime row; on a CPU this project\'s '
                        'training form computes in channels-last either way); both: every model in '
                        'both, in the same interleaved rounds, each compared with the peers of its layout '
                        '(default: nchw)')
    parser.add_argument('--no-macs', action='store_true',
                        help="table: skip MAC counting (FlopAnalyzer's trace is slow at large sizes)")
    parser.add_argument('--matmul-size', type=int,
                        help='side of the timed fp32 square matmul (default: 2048 on CPU, 8192 on CUDA)')
    parser.add_argument('--profiled-reps', type=int, default=3,
                        help='breakdown: profiled rounds, figures are their medians (default: 3)')
    parser.add_argument('--tf32', default='default', choices=['default', 'on', 'off'],
                        help="CUDA: TF32 for fp32 matmuls and convolutions; default keeps PyTorch's settings")
    parser.add_argument('--out-json', help='write the report as JSON here')
    parser.add_argument('--out-png', help='table: draw batch-1 latency against MACs here')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace an existing --out-json or --out-png file (refused by default, before any timing)')
    return parser


def _check(args: argparse.Namespace, parser: argparse.ArgumentParser) -> torch.device:
    """Fills the mode's defaults and refuses what the mode cannot do; returns the device."""
    if args.mode == 'cold-heap':
        if args.device == 'cuda':
            parser.error('--mode cold-heap measures the CPU heap of glibc; use --device cpu')
        args.device = 'cpu'
        if args.passes not in (None, ['latency']):
            parser.error('--mode cold-heap times the batch-1 latency only (--passes latency)')
        if args.sizes is not None and len(args.sizes) != 1:
            parser.error('--mode cold-heap takes one size per process: a size\'s runs warm the heap')
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: torch.cuda.is_available() is False')
    if args.mode != 'table':
        for flag, given in (('--compile', args.compile), ('--cuda-graphs', args.cuda_graphs),
                            ('--with-neck', args.with_neck),
                            ('--no-macs', args.no_macs), ('--out-png', args.out_png)):
            if given:
                parser.error(f'{flag} is for --mode table')
    for flag in ('batch', 'train_batch', 'reps', 'warmup', 'threads', 'matmul_size', 'profiled_reps'):
        value = getattr(args, flag)
        if value is not None and value < (0 if flag == 'warmup' else 1):
            parser.error(f"--{flag.replace('_', '-')} must be {'>= 0' if flag == 'warmup' else 'positive'}")
    for flag, path in (('--out-json', args.out_json), ('--out-png', args.out_png)):
        if path:
            try:
                refuse_overwrite(path, args.overwrite, flag)
            except OutputExistsError as error:
                parser.error(str(error))
    use_cuda = args.device == 'cuda' or (args.device == 'auto' and torch.cuda.is_available())
    device = torch.device('cuda' if use_cuda else 'cpu')
    args.sizes = args.sizes or DEFAULT_SIZES[args.mode]
    if args.passes is None:
        args.passes = ['latency'] if args.mode == 'cold-heap' else list(PASSES)
    args.passes = list(dict.fromkeys(args.passes))
    args.dtypes = list(dict.fromkeys(args.dtypes))
    args.reps = args.reps or (10 if use_cuda else 5)
    args.warmup = (3 if use_cuda else 2) if args.warmup is None else args.warmup
    args.matmul_size = args.matmul_size or (8192 if use_cuda else 2048)
    return device


def _apply_tf32(choice: str) -> None:
    if choice != 'default':
        torch.backends.cuda.matmul.allow_tf32 = choice == 'on'
        torch.backends.cudnn.allow_tf32 = choice == 'on'


def _candidates(args, device: torch.device, notes: List[str]) -> List[Candidate]:
    table = args.mode == 'table'
    dense = dense_part(args.with_neck, notes) if args.with_neck else None
    candidates, peers = [], []
    for arch in args.arch:
        candidates += swiftformer_candidates(arch, device.type, notes, with_onnx=table, with_compile=args.compile,
                                             with_cuda_graphs=args.cuda_graphs, dense=dense)
        if not args.no_peers:
            peers += [c for c in (hf_candidate(arch, notes), timm_candidate(arch, notes)) if c]
    if not args.no_peers and args.mode != 'breakdown':
        peers += [c for c in (resnet50_candidate(notes), ) if c]
    peers = [peer_with_dense_part(c, dense) for c in peers] if dense else peers
    if args.compile and table:
        peers += [compiled_timm_candidate(c) for c in peers if c.peer == 'timm']
    rows = candidates + peers if 'nchw' in args.layouts else []
    if device.type in CHANNELS_LAST_DEVICES:
        notes.append("this project's training form computes in channels-last on this device, whatever its weights' "
                     'layout (SwiftFormer.forward)')
    if 'channels-last' in args.layouts:
        notes.append('channels-last rows: the model\'s weights in the channels-last memory format (--layouts)')
        for onnx in [c for c in candidates if c.onnx]:
            notes.append(f'{onnx.model} {onnx.variant}, channels-last: skipped (onnxruntime takes no layout)')
        rows += [in_channels_last(c) for c in candidates + peers if not c.onnx]
    return rows


def _table(args, device, candidates, notes, report) -> List[dict]:
    rate = matmul_rate(device, args.matmul_size, args.reps)
    report['matmul_gmacs_per_s'] = rate / 1e9
    print(f'fp32 matmul rate ({args.matmul_size}-square torch.mm): {rate / 1e9:.1f} GMAC/s', flush=True)
    rows = []
    for size in args.sizes:
        macs = {} if args.no_macs else macs_of(candidates, size, notes)
        for dtype_name in args.dtypes:
            timed = [c for c in candidates if not (c.onnx and dtype_name != 'fp32')]
            measured = measure(timed, size, device, dtype_name, args.passes, args.batch, args.train_batch,
                               args.reps, args.warmup)
            for cand, row in zip(timed, measured):
                count = macs.get(cand.macs_key)
                row['gmacs'] = None if count is None else count / 1e9
                row['matmul_fraction'] = None  # MACs per second of the batch-1 forward / the matmul rate
                if count is not None and 'latency_ms' in row:
                    row['matmul_fraction'] = count / (row['latency_ms']['median'] / 1e3) / rate
                done = ', '.join(f"{name} {row[field]['median']:.2f} ms" for name, field in
                                 (('latency', 'latency_ms'), ('throughput', 'throughput_ms'), ('train', 'train_ms'))
                                 if field in row)
                print(f"{size[0]}x{size[1]} {dtype_name} {row['model']} {row['variant']}: {done}", flush=True)
            rows += measured
    add_ratios(rows)
    print('\n' + markdown_table(rows))
    return rows


def _breakdown(args, device, candidates, report) -> List[dict]:
    rate = matmul_rate(device, args.matmul_size, args.reps)
    report['matmul_gmacs_per_s'] = rate / 1e9
    print(f'fp32 matmul rate ({args.matmul_size}-square torch.mm): {rate / 1e9:.1f} GMAC/s', flush=True)
    rows = []
    for size in args.sizes:
        for dtype_name in args.dtypes:
            rows += run_breakdown(candidates, size, device, dtype_name, args.passes, args.batch, args.train_batch,
                                  args.reps, args.warmup, args.profiled_reps)
    unit = 'GPU kernel time' if device.type == 'cuda' else 'self CPU time'
    print(f'\nprofiled: {unit} by kind of op, median of {args.profiled_reps} profiled rounds')
    print(breakdown_table(rows))
    return rows


def _cold_heap(args, candidates) -> List[dict]:
    rows = []
    for dtype_name in args.dtypes:
        rows += run_cold_heap(candidates, args.sizes[0], dtype_name, args.reps, args.warmup)
    add_ratios(rows)
    print(markdown_table(rows, COLD_HEAP_COLUMNS))
    return rows


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Runs the benchmark that ``argv`` asks for (default: ``sys.argv[1:]``) and prints it.

    Returns:
        dict: The report as written by ``--out-json``: ``mode``, ``command``,
        ``machine`` (see :func:`~.report.machine_info`), ``settings`` (the
        parsed arguments), ``matmul_gmacs_per_s`` (table and breakdown),
        ``notes`` (skipped rows and dtypes) and ``results`` (one dict per
        row: model, variant and the figures of the mode).
    """
    command = shlex.join(sys.argv if argv is None else ['swiftformer_mm.benchmark.main', *argv])
    parser = build_parser()
    args = parser.parse_args(argv)
    device = _check(args, parser)
    notes: List[str] = []
    if device.type != 'cuda' and 'fp16' in args.dtypes:
        args.dtypes = [d for d in args.dtypes if d != 'fp16']
        notes.append('fp16 skipped: autocast to fp16 is for CUDA')
        if not args.dtypes:
            parser.error('--dtypes: fp16 runs on CUDA only; name fp32 or bf16 too')
    if args.threads:
        torch.set_num_threads(args.threads)
    _apply_tf32(args.tf32)

    info = machine_info(device)
    print(header(info, command), flush=True)
    candidates = _candidates(args, device, notes)
    settings = {k: [list(s) for s in v] if k == 'sizes' else v for k, v in vars(args).items()}
    report = dict(mode=args.mode, command=command, machine=info, settings=settings, notes=notes)
    if args.mode == 'table':
        rows = _table(args, device, candidates, notes, report)
        if args.out_png:
            plot(rows, args.out_png, notes)
    elif args.mode == 'breakdown':
        rows = _breakdown(args, device, candidates, report)
    else:
        rows = _cold_heap(args, candidates)
    for note in notes:
        print(f'Note: {note}')
    report['results'] = rows
    if args.out_json:
        write_json(report, args.out_json)
    return report
