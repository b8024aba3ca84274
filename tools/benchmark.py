"""Speed of the SwiftFormer backbone next to HF transformers' SwiftFormer and mmdet's ResNets.

For every model and variant, at every input size, in one process:

- latency: a batch-1 forward, median and spread (interquartile range, min,
  max) of ``--reps`` timed runs after ``--warmup`` untimed ones;
- throughput: images per second of a batch-``--batch`` forward;
- training step: forward and backward (no optimizer step) of a
  batch-``--train-batch`` in training mode, for the forms that can be trained;
- peak memory of the training step and of the batch-1 forward. On CUDA:
  ``torch.cuda.max_memory_allocated`` above what was allocated before. On
  CPU: the peak of the tensor bytes allocated during the step and still
  alive, from ``torch.profiler`` memory events; weights, inputs and
  gradients from earlier steps are not counted, nor the allocator's caches
  or anything else in the process's RSS;
- minor page faults of one batch-1 forward (CPU): each is the first touch
  of a fresh page of memory. glibc's malloc hands large blocks back to the
  system when they are freed, so a model that allocates a new tensor per op
  pays these again on every call; with ``MALLOC_MMAP_THRESHOLD_`` and
  ``MALLOC_TRIM_THRESHOLD_`` set high, or another allocator preloaded, freed
  memory is kept and reused (the settings are recorded with the machine);
- MACs from MMEngine's ``FlopAnalyzer`` (as ``tools/get_flops.py``: convs,
  linear layers and matrix products, no element-wise ops), and the achieved
  fraction of the machine's fp32 matmul rate (a large ``torch.mm`` timed
  the same way): MACs per second of the batch-1 forward / matmul MACs per second.

Models: this project's SwiftFormer as the configs build it (training form,
in eval mode for inference; it computes in channels-last memory format), the
same in NCHW (``channels_last=False``, the layout the official code uses), its
deploy form (``switch_to_deploy()``), the deploy form exported to ONNX and
run by onnxruntime (with as many intra-op threads as torch; fp32 only; its
memory is not measured), and with ``--compile`` the training form (its
forward and its training step) and the deploy form through
``torch.compile`` (the compile times are reported); HF transformers'
``SwiftFormerModel`` with the same depths and widths and random weights
(reported as skipped when transformers is not installed); mmdet's ResNet-18
and ResNet-50. With ``--dtypes fp32 bf16`` every model also runs under
autocast (bf16 on CPU and CUDA, fp16 on CUDA only). The models are timed in
interleaved rounds (one call of each per round), so that a machine whose
speed drifts affects them all alike.

Prints a markdown table, writes JSON (``--out-json``) and a PNG of latency
against MACs for every model and variant (``--out-png``).

Example::

    python tools/benchmark.py --arch l1 --sizes 800x1216 512x512 --threads 2 \\
        --out-json work_dirs/benchmark.json --out-png work_dirs/benchmark.png
"""
import argparse
import contextlib
import json
import os
import platform
import resource
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

import torch
import torch.nn as nn

from swiftformer_mm import SwiftFormer
from swiftformer_mm.apis import parse_size
from swiftformer_mm.export import onnxruntime_forward

DTYPES = {'fp32': torch.float32, 'bf16': torch.bfloat16, 'fp16': torch.float16}


@dataclass
class Candidate:
    """One model in one variant, built fresh (in eval mode) by ``build``."""
    model: str
    variant: str
    build: Callable[[], nn.Module]
    macs_key: str  # candidates that compute the same way share a MAC count
    compile: bool = False
    trainable: bool = False
    onnx: bool = False  # timed as an ONNX graph in onnxruntime, fp32 only


class HFBackbone(nn.Module):
    """HF transformers' ``SwiftFormerModel`` returning the four stage outputs, like a backbone."""

    def __init__(self, depths: List[int], widths: List[int]):
        super().__init__()
        from transformers import SwiftFormerConfig, SwiftFormerModel
        self.model = SwiftFormerModel(SwiftFormerConfig(depths=depths, embed_dims=widths))

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        hidden = self.model(pixel_values=x, output_hidden_states=True, return_dict=False)[1]
        # hidden = (input to the encoder, stage 0, downsample, stage 1, ..., stage 3)
        return tuple(hidden[i] for i in (1, 3, 5, 7))


def _eval(model: nn.Module) -> nn.Module:
    model.eval()  # mmdet's ResNet.train() returns None, so no chaining
    return model


def swiftformer_candidates(arch: str, with_compile: bool) -> List[Candidate]:
    name = f'SwiftFormer-{arch.upper()}'

    def deployed():
        return _eval(SwiftFormer(arch=arch)).switch_to_deploy()

    candidates = [
        Candidate(name, 'train form, NCHW', lambda: _eval(SwiftFormer(arch=arch, channels_last=False)),
                  f'{arch}-train', trainable=True),
        Candidate(name, 'train form', lambda: _eval(SwiftFormer(arch=arch)), f'{arch}-train',
                  trainable=True),
        Candidate(name, 'deploy', deployed, f'{arch}-deploy'),
        Candidate(name, 'deploy, onnxruntime', deployed, f'{arch}-deploy', onnx=True),
    ]
    if with_compile:
        candidates += [
            Candidate(name, 'train form+compile', lambda: _eval(SwiftFormer(arch=arch)), f'{arch}-train',
                      compile=True, trainable=True),
            Candidate(name, 'deploy+compile', deployed, f'{arch}-deploy', compile=True),
        ]
    return candidates


def hf_candidate(arch: str, notes: List[str]) -> Optional[Candidate]:
    try:
        import transformers  # noqa: F401
    except ImportError:
        notes.append(f'HF SwiftFormer-{arch.upper()}: skipped (transformers is not installed)')
        return None
    settings = SwiftFormer.arch_settings[arch]
    return Candidate(f'HF SwiftFormer-{arch.upper()}', 'transformers',
                     lambda: _eval(HFBackbone(settings['depths'], settings['widths'])), f'{arch}-hf',
                     trainable=True)


def resnet_candidates() -> List[Candidate]:
    from mmdet.models.backbones import ResNet
    return [
        Candidate(f'ResNet-{depth}', 'mmdet', lambda depth=depth: _eval(ResNet(depth=depth)),
                  f'resnet{depth}', trainable=True) for depth in (18, 50)
    ]


def synchronize(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def summarise(times: List[float]) -> Dict[str, float]:
    """Median, quartiles, min and max of a list of milliseconds."""
    quartiles = statistics.quantiles(times, n=4, method='inclusive') if len(times) > 1 else times * 3
    return dict(median=statistics.median(times), q1=quartiles[0], q3=quartiles[2], min=min(times),
                max=max(times), reps=len(times))


def time_interleaved(fns: Dict[str, Callable[[], object]], device: torch.device, reps: int,
                     warmup: int) -> Dict[str, Dict[str, float]]:
    """Milliseconds per call of each function, timed in rounds (one call of each per round),
    so that a machine whose speed drifts (other jobs, clocks) affects all of them alike."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    synchronize(device)
    times = {key: [] for key in fns}
    for _ in range(reps):
        for key, fn in fns.items():
            start = time.perf_counter()
            fn()
            synchronize(device)
            times[key].append((time.perf_counter() - start) * 1e3)
    return {key: summarise(values) for key, values in times.items()}


def _cpu_profiler_peak_bytes(fn: Callable[[], object]) -> int:
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    changes = []
    for event in prof.events():
        # allocations count in the op that made them; frees outside ops are '[memory]' events
        usage = event.cpu_memory_usage if event.name == '[memory]' else event.self_cpu_memory_usage
        if usage:
            changes.append((event.time_range.start, usage))
    live = peak = 0
    for _, usage in sorted(changes):
        live += usage
        peak = max(peak, live)
    return peak


def peak_memory_mib(fn: Callable[[], object], device: torch.device) -> float:
    """Peak bytes allocated by one call of ``fn`` above those alive before it, in MiB."""
    if device.type == 'cuda':
        synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        fn()
        synchronize(device)
        return (torch.cuda.max_memory_allocated(device) - before) / 2**20
    return _cpu_profiler_peak_bytes(fn) / 2**20


def minor_page_faults(fn: Callable[[], object], device: torch.device) -> Optional[int]:
    """Minor page faults of this process during one call of ``fn``; None on CUDA."""
    if device.type != 'cpu':
        return None
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    fn()
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def matmul_rate(device: torch.device, size: int, reps: int) -> float:
    """fp32 multiply-accumulates per second of a ``size``-square ``torch.mm`` (median of reps)."""
    a = torch.rand(size, size, device=device)
    b = torch.rand(size, size, device=device)
    stats = time_interleaved({'mm': lambda: torch.mm(a, b)}, device, max(reps, 3), warmup=1)['mm']
    return size**3 / (stats['median'] / 1e3)


def count_macs(candidate: Candidate, size: Tuple[int, int]) -> int:
    from mmengine.analysis import FlopAnalyzer
    model = candidate.build()
    analyzer = FlopAnalyzer(model, inputs=(torch.rand(1, 3, *size), ))
    return analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False).total()


def autocast(device: torch.device, dtype_name: str):
    if dtype_name == 'fp32':
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=DTYPES[dtype_name])


def inference_fn(model: nn.Module, batch: int, size, device, dtype_name) -> Callable[[], object]:
    x = torch.rand(batch, 3, *size, device=device)

    def forward():
        with torch.no_grad(), autocast(device, dtype_name):
            return model(x)

    return forward


def autocast_deviation(model: nn.Module, size, device, dtype_name) -> float:
    """Largest deviation of the autocast outputs from the fp32 ones, relative to the largest
    fp32 output value, over all returned maps of one random batch-1 image."""
    x = torch.rand(1, 3, *size, device=device)
    with torch.no_grad():
        reference = model(x)
        with autocast(device, dtype_name):
            outputs = model(x)
    return max(((out.float() - ref).abs().max() / ref.abs().max()).item()
               for out, ref in zip(outputs, reference))


def training_fn(model: nn.Module, batch: int, size, device, dtype_name) -> Callable[[], None]:
    """One forward and backward (no optimizer step) in training mode."""
    model.train()
    x = torch.rand(batch, 3, *size, device=device)

    def step():
        model.zero_grad(set_to_none=True)
        with autocast(device, dtype_name):
            loss = sum(out.float().mean() for out in model(x))
        loss.backward()

    return step


def measure(candidates: List[Candidate], size, device, dtype_name, args) -> List[dict]:
    """Every candidate at one size and dtype, timed in interleaved rounds."""
    rows, latency, throughput, training = {}, {}, {}, {}
    onnx_keys = {(cand.model, cand.variant) for cand in candidates if cand.onnx}
    for cand in candidates:
        key = (cand.model, cand.variant)
        model = cand.build().to(device)
        rows[key] = dict(model=cand.model, variant=cand.variant, size=list(size), dtype=dtype_name,
                         device=device.type, params_m=sum(p.numel() for p in model.parameters()) / 1e6)
        if dtype_name != 'fp32':
            rows[key]['max_rel_dev'] = autocast_deviation(model, size, device, dtype_name)
        if cand.onnx:
            forward = onnxruntime_forward(model, size, torch.get_num_threads(), (1, args.batch))
            latency[key], throughput[key] = forward[1], forward[args.batch]
            continue
        runner = torch.compile(model, dynamic=False) if cand.compile else model
        latency[key] = inference_fn(runner, 1, size, device, dtype_name)
        throughput[key] = inference_fn(runner, args.batch, size, device, dtype_name)
        if cand.compile:  # compiled at the first call of each input shape
            start = time.perf_counter()
            latency[key]()
            synchronize(device)
            rows[key]['compile_s'] = time.perf_counter() - start
        if cand.trainable and not args.no_train:
            trained = cand.build().to(device)
            trained = torch.compile(trained, dynamic=False) if cand.compile else trained
            training[key] = training_fn(trained, args.train_batch, size, device, dtype_name)
            start = time.perf_counter()
            training[key]()  # allocates the gradients, which later steps reuse (and compiles)
            synchronize(device)
            if cand.compile:
                rows[key]['train_compile_s'] = time.perf_counter() - start
    for key, stats in time_interleaved(latency, device, args.reps, args.warmup).items():
        rows[key]['latency_ms'] = stats
        # onnxruntime allocates outside torch, where neither counter sees it
        rows[key]['infer_peak_mib'] = None if key in onnx_keys else peak_memory_mib(latency[key], device)
        rows[key]['infer_page_faults'] = minor_page_faults(latency[key], device)
    for key, stats in time_interleaved(throughput, device, args.reps, args.warmup).items():
        rows[key]['throughput_img_s'] = args.batch / (stats['median'] / 1e3)
        rows[key]['throughput_batch'] = args.batch
    for key, stats in time_interleaved(training, device, args.reps, args.warmup).items():
        rows[key].update(train_ms=stats, train_batch=args.train_batch,
                         train_peak_mib=peak_memory_mib(training[key], device))
    return list(rows.values())


def add_ratios(rows: List[dict]) -> None:
    """Speed-ups of every SwiftFormer row over baselines timed at the same size and dtype.

    ``speedup_vs_hf`` (and ``train_speedup_vs_hf``): HF's time of the same
    arch / this row's time; ``speedup_vs_r50``: ResNet-50's latency / this
    row's latency.
    """
    def key(row, model):
        return model, tuple(row['size']), row['dtype']

    by_key = {key(r, r['model']): r for r in rows}
    for row in rows:
        if not row['model'].startswith('SwiftFormer'):
            continue
        hf = by_key.get(key(row, 'HF ' + row['model']))
        if hf is not None:
            row['speedup_vs_hf'] = hf['latency_ms']['median'] / row['latency_ms']['median']
            if 'train_ms' in row and 'train_ms' in hf:
                row['train_speedup_vs_hf'] = hf['train_ms']['median'] / row['train_ms']['median']
        r50 = by_key.get(key(row, 'ResNet-50'))
        if r50 is not None:
            row['speedup_vs_r50'] = r50['latency_ms']['median'] / row['latency_ms']['median']


def _ms(stats: Optional[dict]) -> str:
    if stats is None:
        return '-'
    return f"{stats['median']:.1f} ({stats['q1']:.1f}-{stats['q3']:.1f})"


def _mib(value: Optional[float]) -> str:
    return '-' if value is None else f'{value:.0f}'


def markdown_table(rows: List[dict]) -> str:
    lines = [
        '| input | dtype | model | variant | GMACs | params (M) | latency b1, ms: median (IQR) '
        '| throughput, img/s (batch) | train step, ms: median (IQR) (batch) | train peak MiB '
        '| b1 peak MiB | b1 page faults | % of matmul rate | x vs HF (latency / train) | x vs R50 '
        '| dev. vs fp32 |',
        '|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ]
    for r in rows:
        train = f"{_ms(r['train_ms'])} ({r['train_batch']})" if 'train_ms' in r else '-'
        ratio = '-'
        if 'speedup_vs_hf' in r:
            ratio = f"{r['speedup_vs_hf']:.2f}"
            ratio += f" / {r['train_speedup_vs_hf']:.2f}" if 'train_speedup_vs_hf' in r else ''
        r50 = f"{r['speedup_vs_r50']:.2f}" if 'speedup_vs_r50' in r else '-'
        deviation = f"{r['max_rel_dev']:.1e}" if 'max_rel_dev' in r else '-'
        variant = r['variant']
        if 'compile_s' in r:
            train_compile = f", train step {r['train_compile_s']:.0f} s" if 'train_compile_s' in r else ''
            variant += f" (compile {r['compile_s']:.0f} s{train_compile})"
        faults = '-' if r['infer_page_faults'] is None else str(r['infer_page_faults'])
        lines.append(
            f"| {r['size'][0]}x{r['size'][1]} | {r['dtype']} | {r['model']} | {variant} "
            f"| {r['gmacs']:.2f} | {r['params_m']:.2f} | {_ms(r['latency_ms'])} "
            f"| {r['throughput_img_s']:.2f} ({r['throughput_batch']}) | {train} "
            f"| {_mib(r.get('train_peak_mib'))} | {_mib(r['infer_peak_mib'])} | {faults} "
            f"| {100 * r['matmul_fraction']:.0f}% | {ratio} | {r50} | {deviation} |")
    return '\n'.join(lines)


def plot(rows: List[dict], path: str) -> None:
    """Latency (batch 1, median with IQR) against MACs, one panel per input size."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    sizes = sorted({tuple(r['size']) for r in rows}, reverse=True)
    fig, axes = plt.subplots(1, len(sizes), figsize=(7 * len(sizes), 5.5), squeeze=False)
    for ax, size in zip(axes[0], sizes):
        for r in (r for r in rows if tuple(r['size']) == size):
            lat = r['latency_ms']
            label = f"{r['model']} {r['variant']} {r['dtype']}"
            ax.errorbar(r['gmacs'], lat['median'],
                        yerr=[[lat['median'] - lat['q1']], [lat['q3'] - lat['median']]],
                        fmt='o' if r['dtype'] == 'fp32' else 's', capsize=3, label=label)
        ax.set(title=f'input {size[0]}x{size[1]}, batch 1', xlabel='GMACs',
               ylabel='latency, ms (median, IQR)')
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def machine_info(device: torch.device) -> dict:
    info = dict(platform=platform.platform(), python=platform.python_version(),
                torch=torch.__version__, device=device.type, threads=torch.get_num_threads(),
                cpu_count=os.cpu_count(), load_avg=list(os.getloadavg()),
                allocator_env={k: v for k, v in os.environ.items()
                               if k.startswith('MALLOC_') or k == 'LD_PRELOAD'})
    with contextlib.suppress(OSError):
        with open('/proc/cpuinfo') as f:
            info['cpu'] = next((line.split(':', 1)[1].strip() for line in f
                                if line.startswith('model name')), None)
    if device.type == 'cuda':
        info['gpu'] = torch.cuda.get_device_name(device)
    return info


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--arch', nargs='+', default=['l1'], choices=sorted(SwiftFormer.arch_settings),
                        help='SwiftFormer variants (default: l1)')
    parser.add_argument('--sizes', nargs='+', type=parse_size, default=[(800, 1216), (512, 512)],
                        metavar='HxW', help='input sizes (default: 800x1216 512x512)')
    parser.add_argument('--device', default='auto', choices=['auto', 'cpu', 'cuda'],
                        help='auto: CUDA when available (default)')
    parser.add_argument('--threads', type=int, default=None, help='CPU threads (default: torch\'s)')
    parser.add_argument('--dtypes', nargs='+', default=['fp32'], choices=list(DTYPES),
                        help='fp32 and/or autocast dtypes (default: fp32)')
    parser.add_argument('--reps', type=int, default=5, help='timed repetitions (default: 5)')
    parser.add_argument('--warmup', type=int, default=2, help='untimed runs first (default: 2)')
    parser.add_argument('--batch', type=int, default=4, help='throughput batch (default: 4)')
    parser.add_argument('--train-batch', type=int, default=2, help='training-step batch (default: 2)')
    parser.add_argument('--no-train', action='store_true', help='skip the training steps')
    parser.add_argument('--no-baselines', action='store_true', help='skip HF and the ResNets')
    parser.add_argument('--compile', action='store_true',
                        help='also time the training form (inference and training step) and the deploy '
                        'form through torch.compile (slow to compile)')
    parser.add_argument('--matmul-size', type=int, default=None,
                        help='side of the timed square matmul (default: 2048 on CPU, 8192 on CUDA)')
    parser.add_argument('--out-json', help='write the results as JSON here')
    parser.add_argument('--out-png', help='draw latency against MACs here')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    use_cuda = args.device == 'cuda' or (args.device == 'auto' and torch.cuda.is_available())
    device = torch.device('cuda' if use_cuda else 'cpu')
    notes = []
    dtypes = [d for d in args.dtypes if device.type == 'cuda' or d != 'fp16']
    if len(dtypes) < len(args.dtypes):
        notes.append('fp16 skipped: autocast to fp16 is for CUDA')

    candidates = []
    for arch in args.arch:
        candidates += swiftformer_candidates(arch, args.compile)
        if not args.no_baselines:
            hf = hf_candidate(arch, notes)
            candidates += [hf] if hf is not None else []
    if not args.no_baselines:
        candidates += resnet_candidates()

    rate = matmul_rate(device, args.matmul_size or (8192 if use_cuda else 2048), args.reps)
    print(f'fp32 matmul rate: {rate / 1e9:.1f} GMAC/s on {device.type}'
          f' ({torch.get_num_threads()} threads)', flush=True)
    rows = []
    for size in args.sizes:
        macs = {}
        for candidate in candidates:
            if candidate.macs_key not in macs:
                macs[candidate.macs_key] = count_macs(candidate, size)
        for dtype_name in dtypes:
            timed = [c for c in candidates if not (c.onnx and (dtype_name != 'fp32' or use_cuda))]
            measured = measure(timed, size, device, dtype_name, args)
            for candidate, row in zip(timed, measured):
                row['gmacs'] = macs[candidate.macs_key] / 1e9
                # achieved MACs per second of the batch-1 forward over the fp32 matmul rate
                row['matmul_fraction'] = row['gmacs'] * 1e9 / (row['latency_ms']['median'] / 1e3) / rate
                print(f"{size[0]}x{size[1]} {dtype_name} {row['model']} {row['variant']}: "
                      f"{row['latency_ms']['median']:.1f} ms", flush=True)
            rows += measured
    add_ratios(rows)

    print()
    print(markdown_table(rows))
    for note in notes:
        print(f'Note: {note}')
    report = dict(command=sys.argv, machine=machine_info(device), matmul_gmacs_per_s=rate / 1e9,
                  notes=notes, results=rows)
    if args.out_json:
        with open(args.out_json, 'w') as f:
            json.dump(report, f, indent=2)
    if args.out_png:
        plot(rows, args.out_png)
    return report


if __name__ == '__main__':
    main()
