"""Timing: the passes as callables, and interleaved rounds of them.

On CUDA each call is timed by CUDA events recorded on the current stream
before and after it (the end event waited for); on the CPU by
``time.perf_counter``. Either way a call starts with the device idle.
"""
import contextlib
import statistics
import time
from typing import Callable, Dict, List

import torch
import torch.nn as nn

DTYPES = {'fp32': torch.float32, 'fp16': torch.float16, 'bf16': torch.bfloat16}
PASSES = ('latency', 'throughput', 'train')


def timer_name(device: torch.device) -> str:
    """What times a call on ``device``."""
    return 'CUDA events' if device.type == 'cuda' else 'time.perf_counter'


def synchronize(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def time_call(fn: Callable[[], object], device: torch.device) -> float:
    """Milliseconds of one call of ``fn``."""
    if device.type == 'cuda':
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        return start.elapsed_time(end)
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1e3


def summarise(times: List[float]) -> Dict[str, float]:
    """Median, quartiles (inclusive method), min, max and count of a list of milliseconds."""
    quartiles = statistics.quantiles(times, n=4, method='inclusive') if len(times) > 1 else times * 3
    return dict(median=statistics.median(times), q1=quartiles[0], q3=quartiles[2], min=min(times),
                max=max(times), reps=len(times))


def time_interleaved(fns: Dict[object, Callable[[], object]], device: torch.device, reps: int,
                     warmup: int) -> Dict[object, Dict[str, float]]:
    """Milliseconds per call of each function (see :func:`summarise`).

    After ``warmup`` untimed calls of each, the functions are timed in
    ``reps`` rounds of one call each, so that a machine whose speed drifts
    (other jobs, clocks) affects all of them alike.
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    synchronize(device)
    times = {key: [] for key in fns}
    for _ in range(reps):
        for key, fn in fns.items():
            times[key].append(time_call(fn, device))
    return {key: summarise(values) for key, values in times.items()}


def matmul_rate(device: torch.device, size: int, reps: int) -> float:
    """fp32 multiply-accumulates per second of a ``size``-square ``torch.mm`` (median of the reps),
    under the process's TF32 settings."""
    a = torch.rand(size, size, device=device)
    b = torch.rand(size, size, device=device)
    stats = time_interleaved({'mm': lambda: torch.mm(a, b)}, device, max(reps, 3), warmup=1)['mm']
    return size**3 / (stats['median'] / 1e3)


def autocast(device: torch.device, dtype_name: str):
    """No-op for fp32, else ``torch.autocast`` to that dtype."""
    if dtype_name == 'fp32':
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=DTYPES[dtype_name])


def output_maps(output) -> tuple:
    """A model's output as a tuple of maps: a backbone's or neck's maps, or a segmentation head's
    one tensor of logits."""
    return (output, ) if isinstance(output, torch.Tensor) else tuple(output)


def inference_fn(model: nn.Module, batch: int, size, device, dtype_name) -> Callable[[], object]:
    """One forward of a random batch under ``no_grad`` (and autocast)."""
    x = torch.rand(batch, 3, *size, device=device)

    def forward():
        with torch.no_grad(), autocast(device, dtype_name):
            return model(x)

    return forward


def training_fn(model: nn.Module, batch: int, size, device, dtype_name) -> Callable[[], None]:
    """One training step without optimizer: gradients set to None, a forward in training mode,
    loss = the sum of the returned maps' float means (:func:`output_maps`), backward."""
    model.train()
    x = torch.rand(batch, 3, *size, device=device)

    def step():
        model.zero_grad(set_to_none=True)
        with autocast(device, dtype_name):
            loss = sum(out.float().mean() for out in output_maps(model(x)))
        loss.backward()

    return step


def autocast_deviation(model: nn.Module, runner: Callable, size, device, dtype_name) -> float:
    """Largest deviation of ``runner``'s autocast outputs (the form timed: compiled, replayed or
    eager) from ``model``'s eager fp32 ones, relative to the largest fp32 value, over all returned
    maps of one random batch-1 image."""
    x = torch.rand(1, 3, *size, device=device)
    with torch.enable_grad():  # the compiled and graph wrappers run their module eagerly under autograd
        reference = [out.detach() for out in output_maps(model(x))]
    with torch.no_grad(), autocast(device, dtype_name):
        outputs = output_maps(runner(x))
    return max(((out.float() - ref).abs().max() / ref.abs().max()).item()
               for out, ref in zip(outputs, reference))
