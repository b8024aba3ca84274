"""Speed-ups of this project's rows over the peers measured with them."""
from typing import List, Optional


def _speedup(row: dict, peer: dict, pass_name: str) -> Optional[float]:
    if pass_name == 'throughput':
        if 'throughput_img_s' in row and 'throughput_img_s' in peer:
            return row['throughput_img_s'] / peer['throughput_img_s']
        return None
    field = dict(latency='latency_ms', train='train_ms')[pass_name]
    if field in row and field in peer:
        return peer[field]['median'] / row[field]['median']
    return None


def add_ratios(rows: List[dict]) -> None:
    """Adds ``row['speedup'][peer][pass]`` to every SwiftFormer row (``peer`` None).

    ``peer`` is ``'hf'``, ``'timm'``, ``'timm+compile'`` (same arch) or ``'r50'``, measured at the
    same input size and dtype, in the same layout; ``pass`` is ``'latency'`` (the peer's batch-1
    median / this row's), ``'throughput'`` (this row's images per second /
    the peer's) or ``'train'`` (the peer's training-step median / this
    row's). Above 1: this row is faster. Passes that either row lacks are left out.
    """
    peers = [r for r in rows if r.get('peer')]
    for row in rows:
        if row.get('peer'):
            continue
        speedups = {}
        for peer in peers:
            if (peer['size'], peer['dtype'], peer['layout']) != (row['size'], row['dtype'], row['layout']):
                continue
            if peer['arch'] is not None and peer['arch'] != row['arch']:
                continue
            ratios = {p: _speedup(row, peer, p) for p in ('latency', 'throughput', 'train')}
            ratios = {p: v for p, v in ratios.items() if v is not None}
            if ratios:
                speedups[peer['peer']] = ratios
        row['speedup'] = speedups
