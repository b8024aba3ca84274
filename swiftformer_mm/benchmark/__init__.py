"""Speed of the SwiftFormer backbone next to its peers; ``tools/analysis_tools/benchmark.py`` is its command line.

Modules: ``candidates`` (this project's forms), ``peers`` (HF, timm,
ResNet-50), ``timing`` and ``memory`` (what one call costs), ``measure``
(the table mode), ``ratios`` (speed-ups over the peers), ``breakdown`` and
``cold_heap`` (the other modes), ``report`` (machine info, tables, JSON,
PNG) and ``cli`` (``main``). Needs only torch, mmengine and numpy; each
optional package is imported by the row or output that uses it.
"""
from .cli import main

__all__ = ['main']
