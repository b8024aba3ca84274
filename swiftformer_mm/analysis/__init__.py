"""What ``tools/analysis_tools/`` reports, besides speed (``swiftformer_mm.benchmark``).

``complexity``: parameters and MACs (``get_flops.py``), with the one MAC counter
the benchmark uses too; ``training_curves``: a run's loss and validation
metrics (``plot_training.py``; matplotlib is imported only to draw).
"""
from .complexity import PAPER_GMACS, ClassifierEquivalent, complexity_table, count_macs, variant_complexity
from .training_curves import METRIC_KEYS, newest_scalars, plot_training, read_scalars, render_curves

__all__ = [
    'METRIC_KEYS', 'PAPER_GMACS', 'ClassifierEquivalent', 'complexity_table', 'count_macs', 'newest_scalars',
    'plot_training', 'read_scalars', 'render_curves', 'variant_complexity'
]
