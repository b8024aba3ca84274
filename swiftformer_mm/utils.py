"""Helpers shared by the library's command lines that need only the standard library
(``swiftformer_mm.apis`` imports mmcv; ``swiftformer_mm.benchmark`` must not)."""
import argparse
from typing import Tuple


def parse_size(text: str) -> Tuple[int, int]:
    """``'HEIGHTxWIDTH'`` (e.g. ``'800x1216'``) -> ``(800, 1216)``, as an argparse ``type``."""
    try:
        height, width = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(f'a size is HEIGHTxWIDTH, e.g. 512x512, got {text!r}')
    if height <= 0 or width <= 0:
        raise argparse.ArgumentTypeError(f'a size is positive, got {text!r}')
    return height, width
