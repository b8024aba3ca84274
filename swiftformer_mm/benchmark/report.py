"""The report: machine and settings, markdown tables, JSON and a PNG."""
import contextlib
import io
import json
import os
import platform
from typing import Callable, List, Optional, Sequence, Tuple

import torch

from ..engine.atomic_backend import write_atomically
from .timing import timer_name

PEER_LABELS = (('hf', 'HF'), ('timm', 'timm'), ('timm+compile', 'timm compiled'), ('r50', 'R50'))


def precision_settings() -> dict:
    """The settings that decide how fp32 products and convolutions compute (PyTorch's defaults
    unless ``--tf32`` changed them)."""
    return dict(cuda_matmul_allow_tf32=torch.backends.cuda.matmul.allow_tf32,
                cudnn_allow_tf32=torch.backends.cudnn.allow_tf32,
                float32_matmul_precision=torch.get_float32_matmul_precision(),
                cudnn_benchmark=torch.backends.cudnn.benchmark)


def machine_info(device: torch.device) -> dict:
    """Platform, versions, CPU model and threads, GPU, timer, precision and allocator settings."""
    info = dict(platform=platform.platform(), python=platform.python_version(), torch=torch.__version__,
                cuda=torch.version.cuda, device=device.type, timer=timer_name(device),
                threads=torch.get_num_threads(), cpu_count=os.cpu_count(), cpu=None,
                load_avg=list(os.getloadavg()), precision=precision_settings(),
                allocator_env={k: v for k, v in os.environ.items() if k.startswith('MALLOC_') or k == 'LD_PRELOAD'})
    with contextlib.suppress(OSError):
        with open('/proc/cpuinfo') as f:
            info['cpu'] = next((line.split(':', 1)[1].strip() for line in f if line.startswith('model name')),
                               None)
    if device.type == 'cuda':
        info.update(gpu=torch.cuda.get_device_name(device), cudnn=torch.backends.cudnn.version())
    return info


def header(info: dict, command: str) -> str:
    """The lines printed before the results."""
    device = info.get('gpu', info['device'])
    precision = ', '.join(f'{k}={v}' for k, v in info['precision'].items())
    return '\n'.join([
        f'# command: {command}',
        f"# device: {device}; torch {info['torch']}, CUDA {info['cuda']}; timer: {info['timer']}",
        f"# CPU: {info['cpu']}, {info['threads']} torch threads of {info['cpu_count']} CPUs",
        f'# precision: {precision}',
    ])


def _ms(stats: Optional[dict]) -> str:
    return '-' if stats is None else f"{stats['median']:.2f} ({stats['q1']:.2f}-{stats['q3']:.2f})"


def _num(value: Optional[float], fmt: str) -> str:
    return '-' if value is None else format(value, fmt)


def _variant(r: dict) -> str:
    if 'compile_s' not in r and 'train_compile_s' not in r:
        return r['variant']
    compiled, graphed = 'compile' in r['variant'], 'CUDA graphs' in r['variant']
    first = 'compile+capture' if compiled and graphed else 'capture' if graphed else 'compile'
    times = [f"{label} {r[k]:.1f} s" for k, label in (('compile_s', first), ('train_compile_s', 'train step'))
             if k in r]
    return f"{r['variant']} ({', '.join(times)})"


def _speedups(r: dict, peer: str) -> str:
    ratios = r.get('speedup', {}).get(peer)
    if not ratios:
        return '-'
    return ' / '.join(_num(ratios.get(p), '.2f') for p in ('latency', 'throughput', 'train'))


Column = Tuple[str, str, Callable[[dict], str]]  # header, alignment, cell

TABLE_COLUMNS: List[Column] = [
    ('input', '---', lambda r: f"{r['size'][0]}x{r['size'][1]}"),
    ('dtype', '---', lambda r: r['dtype']),
    ('model', '---', lambda r: r['model']),
    ('variant', '---', _variant),
    ('GMACs', '---:', lambda r: _num(r.get('gmacs'), '.2f')),
    ('params (M)', '---:', lambda r: f"{r['params_m']:.2f}"),
    ('latency b1, ms: median (IQR)', '---:', lambda r: _ms(r.get('latency_ms'))),
    ('throughput, img/s (batch)', '---:',
     lambda r: f"{r['throughput_img_s']:.1f} ({r['throughput_batch']})" if 'throughput_img_s' in r else '-'),
    ('train step, ms: median (IQR) (batch)', '---:',
     lambda r: f"{_ms(r['train_ms'])} ({r['train_batch']})" if 'train_ms' in r else '-'),
    ('train peak MiB', '---:', lambda r: _num(r.get('train_peak_mib'), '.0f')),
    ('b1 peak MiB', '---:', lambda r: _num(r.get('infer_peak_mib'), '.0f')),
    ('b1 page faults', '---:', lambda r: _num(r.get('infer_page_faults'), 'd')),
    ('% of matmul rate', '---:', lambda r: _num(None if r.get('matmul_fraction') is None
                                                 else 100 * r['matmul_fraction'], '.0f')),
] + [(f'x vs {label} (lat / thr / train)', '---:', lambda r, p=peer: _speedups(r, p))
     for peer, label in PEER_LABELS] + [
    ('dev. vs fp32', '---:', lambda r: _num(r.get('max_rel_dev'), '.1e')),
]

COLD_HEAP_COLUMNS: List[Column] = [TABLE_COLUMNS[i] for i in (0, 1, 2, 3, 6, 11)] + [
    (f'x vs {label} (latency)', '---:', lambda r, p=peer: _num(r.get('speedup', {}).get(p, {}).get('latency'), '.2f'))
    for peer, label in PEER_LABELS]


def markdown_table(rows: Sequence[dict], columns: Sequence[Column] = TABLE_COLUMNS) -> str:
    """One line per row; '-' where a row lacks the figure.

    Columns: GMACs of a batch-1 forward (``FlopAnalyzer``); latency: batch-1
    forward, median and interquartile range of the rounds; throughput: images
    per second of a batch-N forward; train step: forward and backward of a
    batch in training mode; peak MiB: see :func:`~.memory.peak_memory_mib`;
    page faults: minor faults of one batch-1 forward (CPU); % of matmul rate:
    the batch-1 forward's MACs per second over the fp32 ``torch.mm`` rate;
    x vs HF / timm / timm compiled / R50: speed-ups latency / throughput / train step (see
    :func:`~.ratios.add_ratios`; a peer's column only where it was measured); dev. vs fp32: largest autocast deviation
    relative to the largest fp32 output.
    """
    # speed-ups over a peer that this run did not measure are left out
    columns = [c for c in columns if not c[0].startswith('x vs') or any(c[2](r) != '-' for r in rows)]
    lines = ['| ' + ' | '.join(c[0] for c in columns) + ' |', '|' + '|'.join(c[1] for c in columns) + '|']
    lines += ['| ' + ' | '.join(c[2](r) for c in columns) + ' |' for r in rows]
    return '\n'.join(lines)


def write_json(report: dict, path: str) -> None:
    """The report as indented JSON, written atomically (a killed run leaves no half a file)."""
    write_atomically(path, json.dumps(report, indent=2).encode())


def plot(rows: Sequence[dict], path: str, notes: List[str]) -> None:
    """Batch-1 latency (median, IQR bars) against GMACs, or parameters without MACs, one panel
    per input size; not drawn (noted in ``notes``) without matplotlib or latency rows."""
    rows = [r for r in rows if 'latency_ms' in r]
    if not rows:
        notes.append(f'PNG {path}: not drawn (no latency rows)')
        return
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except Exception as error:
        notes.append(f'PNG {path}: not drawn (matplotlib does not import: {type(error).__name__}: {error})')
        return
    by_macs = all(r.get('gmacs') is not None for r in rows)
    sizes = sorted({tuple(r['size']) for r in rows}, reverse=True)
    fig, axes = plt.subplots(1, len(sizes), figsize=(7 * len(sizes), 5.5), squeeze=False)
    for ax, size in zip(axes[0], sizes):
        for r in (r for r in rows if tuple(r['size']) == size):
            lat = r['latency_ms']
            ax.errorbar(r['gmacs'] if by_macs else r['params_m'], lat['median'],
                        yerr=[[lat['median'] - lat['q1']], [lat['q3'] - lat['median']]],
                        fmt='o' if r['dtype'] == 'fp32' else 's', capsize=3,
                        label=f"{r['model']} {r['variant']} {r['dtype']}")
        ax.set(title=f'input {size[0]}x{size[1]}, batch 1, {rows[0]["device"]}',
               xlabel='GMACs' if by_macs else 'parameters (M)', ylabel='latency, ms (median, IQR)')
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    png = io.BytesIO()
    fig.savefig(png, format='png', dpi=110)
    plt.close(fig)
    write_atomically(path, png.getvalue())
