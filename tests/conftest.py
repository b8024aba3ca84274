"""Shared fixtures. There is deliberately no ``tests/__init__.py``: the
mmsegmentation wheel installs a top-level ``tests`` package that would shadow it."""
import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = REPO_ROOT / 'tests' / 'data'
SHARED_GOLDEN = Path(os.environ.get('SWIFTFORMER_GOLDEN_DIR', REPO_ROOT.parent / 'shared' / 'golden'))


@pytest.fixture(autouse=True)
def _deterministic_seed():
    import torch
    torch.manual_seed(0)
