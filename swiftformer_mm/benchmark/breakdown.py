"""The breakdown mode: where the time of each pass goes, by kind of op.

Each pass of each model is timed in interleaved rounds, then profiled for
``--profiled-reps`` more rounds with ``torch.profiler``. On the CPU the self
CPU time of every ATen op is sorted by kind; on CUDA the time of every GPU
kernel, under the innermost ATen op that launched it (kernels with none count
as other). For the matrix products the multiply-accumulates per second they
reached (the profiler's FLOP count / 2 over their time) is given. Each figure
is the median over the profiled rounds. The profiled total is busy time:
on the CPU it runs a little above the timed median (profiler overhead);
on CUDA it is below it wherever the GPU waits for the CPU to launch work.
Each row also names its heaviest GPU kernels (CUDA) or ATen ops (CPU): the
kind of op says "convolutions", the kernel says which (a cuDNN kernel or
PyTorch's own depth-wise one, forward or backward).
"""
import collections
import re
import statistics
from typing import Callable, Dict, List, Optional, Tuple

import torch

from .candidates import Candidate
from .measure import base_row
from .timing import inference_fn, time_interleaved, training_fn

MATRIX_PRODUCTS = {'aten::mm', 'aten::addmm', 'aten::bmm', 'aten::baddbmm', 'aten::mv', 'aten::addmv',
                   'aten::addmv_', 'aten::_addmm_activation'}
KINDS = ('matrix products', 'convolutions', 'GELU', 'batch norm', 'other')
HEAVIEST = 6  # kernels (CUDA) or ATen ops (CPU) named per row


def kind_of(op_name: str) -> str:
    """The kind of an ATen op, one of ``KINDS``."""
    if op_name in MATRIX_PRODUCTS:
        return 'matrix products'
    for fragment, kind in (('conv', 'convolutions'), ('gelu', 'GELU'), ('batch_norm', 'batch norm')):
        if fragment in op_name:
            return kind
    return 'other'


def _launching_op(event) -> Optional[str]:
    while event is not None and not event.name.startswith('aten::'):
        event = event.cpu_parent
    return None if event is None else event.name


def short_kernel_name(name: str) -> str:
    """A GPU kernel's name without ``void``, anonymous namespaces and parameter list, at most 100
    characters: ``conv_depthwise2d_grad_weight_kernel<float, float, int>``, not its whole signature."""
    name = re.sub(r'^void |\(anonymous namespace\)::', '', name)
    name = name.split('(', 1)[0].replace('at::native::', '')
    return name if len(name) <= 100 else name[:99] + '~'


def _device_ms(prof) -> Tuple[Dict[str, float], Dict[str, float]]:
    """GPU kernel milliseconds by kind of the ATen op that launched them, and by kernel."""
    ms, by_kernel = dict.fromkeys(KINDS, 0.0), collections.Counter()
    for event in prof.events():
        kernels = getattr(event, 'kernels', None)
        if kernels:  # on the op that launched them
            op = _launching_op(event)
            ms['other' if op is None else kind_of(op)] += sum(k.duration for k in kernels) / 1e3
            for kernel in kernels:
                by_kernel[short_kernel_name(kernel.name)] += kernel.duration / 1e3
    return ms, dict(by_kernel)


def profile_by_kind(fn: Callable[[], object], device: torch.device) -> dict:
    """Milliseconds per kind of op and per kernel (CUDA) or ATen op (CPU) in one call of ``fn``
    (kernel time on CUDA, self CPU time on the CPU), and the matrix products' GMAC/s (None
    without products)."""
    from torch.profiler import ProfilerActivity, profile
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == 'cuda' else [])
    with profile(activities=activities, with_flops=True) as prof:
        fn()
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
    product_flops = sum(e.flops for e in prof.key_averages() if kind_of(e.key) == 'matrix products')
    if device.type == 'cuda':
        ms, by_name = _device_ms(prof)
    else:
        ms, by_name = dict.fromkeys(KINDS, 0.0), {}
        for event in prof.key_averages():
            ms[kind_of(event.key)] += event.self_cpu_time_total / 1e3
            by_name[event.key] = event.self_cpu_time_total / 1e3
    products_s = ms['matrix products'] / 1e3
    return dict(ms=ms, by_name=by_name,
                product_gmacs_per_s=product_flops / 2 / products_s / 1e9 if products_s else None)


def median_profile(profiles: List[dict]) -> dict:
    """Per-kind medians of several profiles of the same call (one slow round does not count), and
    the ``HEAVIEST`` kernels or ops by their median (``heaviest``: name and ms, heaviest first)."""
    ms = {kind: statistics.median(p['ms'][kind] for p in profiles) for kind in KINDS}
    names = {name for p in profiles for name in p['by_name']}
    by_name = {name: statistics.median(p['by_name'].get(name, 0.0) for p in profiles) for name in names}
    heaviest = sorted(by_name.items(), key=lambda item: (-item[1], item[0]))[:HEAVIEST]
    rates = [p['product_gmacs_per_s'] for p in profiles if p['product_gmacs_per_s'] is not None]
    return dict(ms=ms, profiled_ms=sum(ms.values()), profiled_reps=len(profiles), heaviest=heaviest,
                product_gmacs_per_s=statistics.median(rates) if rates else None)


def breakdown_table(results: List[dict]) -> str:
    """A markdown table per pass: timed and profiled ms, ms and share of each kind, product rate;
    then each row's heaviest kernels or ops with their share of the profiled time."""
    lines = []
    for pass_name in dict.fromkeys(r['pass'] for r in results):
        lines += [f"\n{pass_name}:", '| input | dtype | model | variant | timed ms (median) | profiled ms | '
                  + ' | '.join(f'{kind} ms (%)' for kind in KINDS) + ' | matrix products GMAC/s |',
                  '|---|---|---|---|' + '---:|' * (len(KINDS) + 3)]
        for r in (r for r in results if r['pass'] == pass_name):
            total = r['profiled_ms']
            shares = ' | '.join(f"{r['ms'][k]:.1f} ({100 * r['ms'][k] / total if total else 0:.0f}%)" for k in KINDS)
            rate = '-' if r['product_gmacs_per_s'] is None else f"{r['product_gmacs_per_s']:.1f}"
            lines.append(f"| {r['size'][0]}x{r['size'][1]} | {r['dtype']} | {r['model']} | {r['variant']} "
                         f"| {r['timed_ms']['median']:.2f} | {total:.2f} | {shares} | {rate} |")
        lines.append(f'\nheaviest kernels or ops, {pass_name}:')
        for r in (r for r in results if r['pass'] == pass_name):
            total = r['profiled_ms']
            lines.append(f"- {r['size'][0]}x{r['size'][1]} {r['dtype']} {r['model']} {r['variant']}: " + '; '.join(
                f"{name} {ms:.2f} ms ({100 * ms / total if total else 0:.0f}%)" for name, ms in r['heaviest']))
    return '\n'.join(lines)


def run_breakdown(candidates: List[Candidate], size, device: torch.device, dtype_name: str, passes: List[str],
                  batch: int, train_batch: int, reps: int, warmup: int, profiled_reps: int) -> List[dict]:
    """Rows per model and pass (``'forward b1'``, ``'forward b{batch}'``, ``'training step
    b{train_batch}'``): ``timed_ms`` stats, ``ms`` per kind, ``profiled_ms`` and the product rate."""
    fns, rows = {}, {}
    for cand in candidates:
        model = cand.build().to(device)
        todo = [('latency', 'forward b1', lambda m=model: inference_fn(m, 1, size, device, dtype_name)),
                ('throughput', f'forward b{batch}',
                 lambda m=model: inference_fn(m, batch, size, device, dtype_name))]
        if cand.trainable:
            todo.append(('train', f'training step b{train_batch}',
                         lambda: training_fn(cand.build().to(device), train_batch, size, device, dtype_name)))
        for pass_key, pass_name, make in todo:
            if pass_key in passes:
                key = cand.key + (pass_name, )
                fns[key] = make()
                rows[key] = dict(base_row(cand, model, size, device, dtype_name), **{'pass': pass_name})
    timings = time_interleaved(fns, device, reps, warmup)
    profiles = {key: [] for key in fns}
    for _ in range(profiled_reps):  # interleaved too
        for key, fn in fns.items():
            profiles[key].append(profile_by_kind(fn, device))
    for key, row in rows.items():
        row.update(timed_ms=timings[key], **median_profile(profiles[key]))
    return list(rows.values())
