"""Batch-1 latency of this backbone and HF's port in a process that runs nothing else.

``tools/benchmark.py`` counts MACs by tracing every model first; the trace
grows the process's heap, and glibc then serves every later tensor from it,
so all its figures are those of a warm allocator (0 page faults). Here the
models are only built and run, with glibc's defaults: a freed block larger
than the mmap threshold (at most 32 MiB) goes back to the system and its
pages are touched afresh on the next call. Prints, per model, the median
latency of interleaved rounds and the minor page faults of one forward.
One size per process: a size's own runs warm the heap for the next one.

Example::

    python tools/benchmark_cold_heap.py --arch l1 --size 800x1216 --threads 2 --reps 7
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchmark import (hf_candidate, inference_fn, minor_page_faults,  # noqa: E402
                       swiftformer_candidates, time_interleaved)
from swiftformer_mm import SwiftFormer  # noqa: E402
from swiftformer_mm.apis import parse_size  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--arch', default='l1', choices=sorted(SwiftFormer.arch_settings))
    parser.add_argument('--size', type=parse_size, default=(800, 1216), help='HxW (default: 800x1216)')
    parser.add_argument('--threads', type=int, default=None, help='CPU threads (default: torch\'s)')
    parser.add_argument('--reps', type=int, default=7)
    parser.add_argument('--warmup', type=int, default=2)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    notes = []
    candidates = [c for c in swiftformer_candidates(args.arch, False) if not c.onnx]
    hf = hf_candidate(args.arch, notes)
    candidates += [hf] if hf is not None else []
    cpu = torch.device('cpu')
    size, results = args.size, {}
    fns = {(c.model, c.variant): inference_fn(c.build(), 1, size, cpu, 'fp32') for c in candidates}
    timings = time_interleaved(fns, cpu, args.reps, args.warmup)
    hf_ms = None if hf is None else timings[(hf.model, hf.variant)]['median']
    print(f'{size[0]}x{size[1]}: model | variant | latency ms (IQR) | page faults | x vs HF')
    for key, stats in timings.items():
        speedup = hf_ms / stats['median'] if hf_ms else None
        results[key] = dict(stats, page_faults=minor_page_faults(fns[key], cpu), speedup_vs_hf=speedup)
        print(f"  {key[0]} | {key[1]} | {stats['median']:.1f} ({stats['q1']:.1f}-{stats['q3']:.1f})"
              f" | {results[key]['page_faults']} | {'-' if speedup is None else f'{speedup:.2f}'}",
              flush=True)
    for note in notes:
        print(f'Note: {note}')
    return results


if __name__ == '__main__':
    main()
