"""What ``tools/analysis_tools/`` reports, besides speed (``swiftformer_mm.benchmark``).

``complexity``: parameters and MACs (``get_flops.py``), with the one MAC counter
the benchmark uses too.
"""
from .complexity import PAPER_GMACS, ClassifierEquivalent, complexity_table, count_macs, variant_complexity

__all__ = ['PAPER_GMACS', 'ClassifierEquivalent', 'complexity_table', 'count_macs', 'variant_complexity']
