"""Memory of one call: peak bytes allocated, and minor page faults (CPU)."""
import resource
from typing import Callable, Optional

import torch

from .timing import synchronize


def _cpu_profiler_peak_bytes(fn: Callable[[], object]) -> int:
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    # every allocation (+bytes) and free (-bytes) in time order; a free of a block allocated
    # before profiling has no known size and counts 0. The raw records, not prof.events():
    # building those takes seconds per call.
    records = sorted((e.start_ns(), e.nbytes()) for e in prof.profiler.kineto_results.events()
                     if e.name() == '[memory]' and e.device_type() == torch.autograd.DeviceType.CPU)
    live = peak = 0
    for _, nbytes in records:
        live += nbytes
        peak = max(peak, live)
    return peak


def peak_memory_mib(fn: Callable[[], object], device: torch.device, calls: int = 1) -> float:
    """Peak MiB allocated during ``calls`` calls of ``fn`` (CUDA; one on a CPU) above what was
    allocated before them.

    CUDA: ``torch.cuda.max_memory_allocated`` minus ``memory_allocated``
    before the call; tensors of earlier calls freed during it (gradients set
    to None) lower the level. CPU: the peak of the tensor bytes allocated
    during the call and still alive, from ``torch.profiler`` memory records;
    frees of earlier tensors do not count. Neither counts the weights, the
    inputs, nor the allocator's caches.
    """
    if device.type == 'cuda':
        synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        for _ in range(calls):
            fn()
        synchronize(device)
        return (torch.cuda.max_memory_allocated(device) - before) / 2**20
    return _cpu_profiler_peak_bytes(fn) / 2**20


def minor_page_faults(fn: Callable[[], object], device: torch.device) -> Optional[int]:
    """Minor page faults of this process during one call of ``fn`` (None on CUDA).

    Each is the first touch of a fresh page: glibc's malloc returns large
    freed blocks to the system, so code that allocates a new tensor per op
    pays them again on every call unless the heap is kept (``MALLOC_*``
    settings or another allocator, recorded with the machine).
    """
    if device.type != 'cpu':
        return None
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    fn()
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
