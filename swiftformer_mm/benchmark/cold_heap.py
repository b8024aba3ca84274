"""The cold-heap mode: batch-1 latency in a process that has run nothing else (CPU only).

The table mode counts MACs by tracing every model first; the trace grows
the heap, and glibc then serves every later tensor from it, so its figures
are those of a warm allocator (about 0 page faults). Here the models are only
built and run, with glibc's defaults: a freed block above the mmap threshold
(at most 32 MiB) goes back to the system, and its pages are touched afresh
(minor page faults) on the next call. One input size per process, since a
size's runs warm the heap for the next.
"""
from typing import List

import torch

from .candidates import Candidate
from .measure import base_row
from .memory import minor_page_faults
from .timing import inference_fn, time_interleaved


def run_cold_heap(candidates: List[Candidate], size, dtype_name: str, reps: int, warmup: int) -> List[dict]:
    """Rows with ``latency_ms`` (batch-1 forward, interleaved rounds) and ``infer_page_faults``
    (minor page faults of one more forward)."""
    cpu = torch.device('cpu')
    fns, rows = {}, {}
    for cand in candidates:
        model = cand.build()
        fns[cand.key] = inference_fn(model, 1, size, cpu, dtype_name)
        rows[cand.key] = base_row(cand, model, size, cpu, dtype_name)
    for key, stats in time_interleaved(fns, cpu, reps, warmup).items():
        rows[key].update(latency_ms=stats, infer_page_faults=minor_page_faults(fns[key], cpu))
    return list(rows.values())
