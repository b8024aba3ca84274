"""Where the time of a forward and of a training step goes, by kind of op, next to HF's port.

For each model (this backbone's training form, its deploy form, HF transformers'
``SwiftFormerModel`` when installed) the tool times a batch-1 forward and a
training step (forward and backward, batch ``--batch``) in interleaved rounds
as ``tools/benchmark.py`` does, then profiles ``--profiled-reps`` more rounds
with ``torch.profiler`` and sorts the self time of every ATen op into matrix
products (mm, addmm, bmm, ...), convolutions (forward and backward, the 1x1
ones HF runs as convolutions included), GELU (forward and backward), batch
norm and the rest. For the matrix products it prints the multiply-accumulates
per second they reached (the profiler's FLOP count / 2), next to the rate of a
large ``torch.mm``. Each figure is the median over the profiled rounds; the
profiled totals run a little above the timed medians.

Example::

    python tools/benchmark_breakdown.py --arch l1 --size 512x512 --threads 2 --batch 2
"""
import argparse
import os
import statistics
import sys
from typing import Callable, Dict, List

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchmark import (hf_candidate, inference_fn, matmul_rate, swiftformer_candidates,  # noqa: E402
                       time_interleaved, training_fn)
from swiftformer_mm import SwiftFormer  # noqa: E402
from swiftformer_mm.apis import parse_size  # noqa: E402

MATRIX_PRODUCTS = {'aten::mm', 'aten::addmm', 'aten::bmm', 'aten::baddbmm', 'aten::mv', 'aten::addmv',
                   'aten::addmv_', 'aten::_addmm_activation'}
KINDS = ('matrix products', 'convolutions', 'GELU', 'batch norm', 'other')


def kind_of(op_name: str) -> str:
    """The kind of an ATen op, one of ``KINDS``."""
    if op_name in MATRIX_PRODUCTS:
        return 'matrix products'
    for fragment, kind in (('conv', 'convolutions'), ('gelu', 'GELU'), ('batch_norm', 'batch norm')):
        if fragment in op_name:
            return kind
    return 'other'


def profile_by_kind(fn: Callable[[], object]) -> dict:
    """Self CPU milliseconds per kind of op in one call of ``fn``, and the products' MAC rate."""
    with profile(activities=[ProfilerActivity.CPU], with_flops=True) as prof:
        fn()
    ms, product_flops = dict.fromkeys(KINDS, 0.0), 0
    for event in prof.key_averages():
        kind = kind_of(event.key)
        ms[kind] += event.self_cpu_time_total / 1e3
        if kind == 'matrix products':
            product_flops += event.flops
    products_s = ms['matrix products'] / 1e3
    return dict(ms=ms, product_gmacs_per_s=product_flops / 2 / products_s / 1e9 if products_s else None)


def median_profile(profiles: List[dict]) -> dict:
    """Per-kind medians of several profiles of the same call (one slow round does not count)."""
    ms = {kind: statistics.median(p['ms'][kind] for p in profiles) for kind in KINDS}
    rates = [p['product_gmacs_per_s'] for p in profiles if p['product_gmacs_per_s'] is not None]
    return dict(ms=ms, profiled_ms=sum(ms.values()), profiled_reps=len(profiles),
                product_gmacs_per_s=statistics.median(rates) if rates else None)


def _row(name: str, timed: dict, kinds: dict) -> str:
    total = kinds['profiled_ms']
    shares = ' | '.join(f"{kinds['ms'][kind]:.0f} ({100 * kinds['ms'][kind] / total:.0f}%)" for kind in KINDS)
    rate = kinds['product_gmacs_per_s']
    return f"| {name} | {timed['median']:.1f} | {total:.0f} | {shares} | {'-' if rate is None else f'{rate:.1f}'} |"


def main(argv=None) -> Dict[str, dict]:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--arch', default='l1', choices=sorted(SwiftFormer.arch_settings))
    parser.add_argument('--size', type=parse_size, default=(512, 512), help='HxW (default: 512x512)')
    parser.add_argument('--batch', type=int, default=2, help='training-step batch (default: 2)')
    parser.add_argument('--threads', type=int, default=None, help='CPU threads (default: torch\'s)')
    parser.add_argument('--reps', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--profiled-reps', type=int, default=3)
    parser.add_argument('--matmul-size', type=int, default=2048)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    cpu, notes = torch.device('cpu'), []
    candidates = [c for c in swiftformer_candidates(args.arch, False) if c.variant in ('train form', 'deploy')]
    hf = hf_candidate(args.arch, notes)
    candidates += [hf] if hf is not None else []

    fns = {}
    for candidate in candidates:
        name = f'{candidate.model} {candidate.variant}'
        fns[(name, 'forward b1')] = inference_fn(candidate.build(), 1, args.size, cpu, 'fp32')
        if candidate.trainable:
            fns[(name, f'training step b{args.batch}')] = training_fn(candidate.build(), args.batch,
                                                                       args.size, cpu, 'fp32')
    timings = time_interleaved(fns, cpu, args.reps, args.warmup)
    profiles = {key: [] for key in fns}
    for _ in range(args.profiled_reps):  # interleaved too
        for key, fn in fns.items():
            profiles[key].append(profile_by_kind(fn))
    results = {key: dict(timed_ms=timings[key], **median_profile(profiles[key])) for key in fns}

    rate = matmul_rate(cpu, args.matmul_size, args.reps) / 1e9
    print(f'{args.size[0]}x{args.size[1]}, {torch.get_num_threads()} threads; a {args.matmul_size}-square '
          f'torch.mm runs at {rate:.1f} GMAC/s')
    for pass_name in ('forward b1', f'training step b{args.batch}'):
        print(f'\n{pass_name}: model | timed ms (median) | profiled ms | '
              + ' | '.join(f'{kind} ms (%)' for kind in KINDS) + ' | matrix products GMAC/s')
        for (name, key_pass), result in results.items():
            if key_pass == pass_name:
                print(_row(name, result['timed_ms'], result))
    for note in notes:
        print(f'Note: {note}')
    return results


if __name__ == '__main__':
    main()
