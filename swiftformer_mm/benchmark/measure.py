"""The table mode's measurements: every candidate at one input size and dtype."""
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch._dynamo

from ..analysis.complexity import count_macs
from .candidates import Candidate
from .memory import minor_page_faults, peak_memory_mib
from .timing import autocast_deviation, inference_fn, synchronize, time_interleaved, training_fn


# within one size and dtype, every compiled row compiles a forward (SwiftFormer's, nn.Sequential's)
# per form, batch and pass: more than dynamo's default limit of 8 with several variants; a row past
# the limit would run eagerly and be timed as compiled, so past it the benchmark stops instead
COMPILE_SETTINGS = {key: value for key, value in dict(recompile_limit=64, fail_on_recompile_limit_hit=True).items()
                    if hasattr(torch._dynamo.config, key)}  # the second is not in every torch


def _compiled(model, candidate: Candidate):
    # looked up at call time, so that tests can replace torch.compile
    return torch.compile(model, dynamic=False, mode=candidate.compile_mode) if candidate.compile else model


def _first_call_s(fn: Callable[[], object], device: torch.device) -> float:
    start = time.perf_counter()
    fn()
    synchronize(device)
    return time.perf_counter() - start


def base_row(candidate: Candidate, model, size, device: torch.device, dtype_name: str) -> dict:
    """The fields of a result row that say what was measured."""
    return dict(model=candidate.model, variant=candidate.variant, arch=candidate.arch, peer=candidate.peer,
                layout=candidate.layout, size=list(size), dtype=dtype_name, device=device.type,
                params_m=sum(p.numel() for p in model.parameters()) / 1e6)


def measure(candidates: Sequence[Candidate], size: Tuple[int, int], device: torch.device, dtype_name: str,
            passes: Sequence[str], batch: int, train_batch: int, reps: int, warmup: int) -> List[dict]:
    """Times every candidate in the given passes, each pass in interleaved rounds.

    Row fields: ``latency_ms`` (batch-1 forward; stats of
    :func:`~.timing.summarise`), ``infer_peak_mib`` and ``infer_page_faults``
    (of one batch-1 forward), ``throughput_img_s`` (``batch`` / median time
    of a batch-``batch`` forward) with ``throughput_ms``, ``train_ms`` (a
    training step of ``train_batch`` images) with ``train_peak_mib``;
    ``max_rel_dev`` under autocast (of the form timed, against the eager model in fp32);
    ``compile_s`` / ``train_compile_s`` (first calls of the compiled or CUDA-graph forwards,
    one per input shape, and of the compiled training step). Rows that replay CUDA graphs
    report the peak memory of their first three batch-1 calls, the capture among them;
    onnxruntime rows have no peak memory (it allocates outside torch) and no training step.
    """
    torch._dynamo.reset()  # compilations of earlier sizes and dtypes: their models are gone
    with torch._dynamo.config.patch(**COMPILE_SETTINGS):
        return _measure(candidates, size, device, dtype_name, passes, batch, train_batch, reps, warmup)


def _replays(candidate: Candidate, device: torch.device) -> bool:
    """Whether the row replays CUDA graphs, whose memory is allocated when they are captured:
    at the first call (``GraphedForward``), or the second or third (``reduce-overhead``)."""
    return device.type == 'cuda' and (candidate.cuda_graphs or candidate.compile_mode == 'reduce-overhead')


def _measure(candidates, size, device, dtype_name, passes, batch, train_batch, reps, warmup) -> List[dict]:
    rows: Dict[tuple, dict] = {}
    runners: Dict[str, Dict[tuple, Callable[[], object]]] = {p: {} for p in passes}
    for cand in candidates:
        model = cand.build().to(device)
        row = rows[cand.key] = base_row(cand, model, size, device, dtype_name)
        if cand.onnx:
            from ..export.runtime import onnxruntime_forward
            batches = {'latency': 1, 'throughput': batch}
            forwards = onnxruntime_forward(model, size, torch.get_num_threads(),
                                           tuple(batches[p] for p in passes if p in batches))
            for name, b in batches.items():
                if name in passes:
                    runners[name][cand.key] = forwards[b]
            continue
        runner = _compiled(model, cand)
        for name, b in (('latency', 1), ('throughput', batch)):
            if name in passes:
                fn = runners[name][cand.key] = inference_fn(runner, b, size, device, dtype_name)
                if cand.compile or cand.cuda_graphs:  # compiled / captured at the first call of each shape
                    start = time.perf_counter()
                    if name == 'latency' and _replays(cand, device):  # the graph's memory: its capture's peak
                        row['infer_peak_mib'] = peak_memory_mib(fn, device, calls=3)
                    else:
                        _first_call_s(fn, device)
                    row['compile_s'] = row.get('compile_s', 0.0) + time.perf_counter() - start
        if dtype_name != 'fp32':  # of the form timed (after its first calls: they compile or capture)
            timed = runner if 'latency' in passes or 'throughput' in passes else model
            row['max_rel_dev'] = autocast_deviation(model, timed, size, device, dtype_name)
        if 'train' in passes and cand.trainable:
            step = training_fn(_compiled(cand.build().to(device), cand), train_batch, size, device, dtype_name)
            runners['train'][cand.key] = step
            seconds = _first_call_s(step, device)  # allocates the gradients (and compiles)
            if cand.compile:
                row['train_compile_s'] = seconds
    onnx_keys = {c.key for c in candidates if c.onnx}
    if 'latency' in passes:
        for key, stats in time_interleaved(runners['latency'], device, reps, warmup).items():
            fn = runners['latency'][key]
            rows[key].setdefault('infer_peak_mib', None if key in onnx_keys else peak_memory_mib(fn, device))
            rows[key].update(latency_ms=stats, infer_page_faults=minor_page_faults(fn, device))
    if 'throughput' in passes:
        for key, stats in time_interleaved(runners['throughput'], device, reps, warmup).items():
            rows[key].update(throughput_ms=stats, throughput_img_s=batch / (stats['median'] / 1e3),
                             throughput_batch=batch)
    if 'train' in passes:
        for key, stats in time_interleaved(runners['train'], device, reps, warmup).items():
            rows[key].update(train_ms=stats, train_batch=train_batch,
                             train_peak_mib=peak_memory_mib(runners['train'][key], device))
    return list(rows.values())


def macs_of(candidates: Sequence[Candidate], size: Tuple[int, int], notes: List[str]) -> Dict[str, Optional[int]]:
    """MACs of a batch-1 forward per ``macs_key`` (:func:`~swiftformer_mm.analysis.count_macs`);
    None (noted) for a model the analyzer cannot trace."""
    macs: Dict[str, Optional[int]] = {}
    for cand in candidates:
        if cand.macs_key in macs:
            continue
        try:
            macs[cand.macs_key] = count_macs(cand.build(), torch.rand(1, 3, *size))
        except Exception as error:
            macs[cand.macs_key] = None
            notes.append(f'{cand.model} {cand.variant}: MACs not counted ({type(error).__name__}: {error})')
    return macs
