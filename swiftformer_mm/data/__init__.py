"""Data pipeline steps registered in MMEngine's root ``TRANSFORMS`` (see :mod:`.guards`)."""
from .guards import CheckSegLabels, DataError, LoadImageChecked

__all__ = ['CheckSegLabels', 'DataError', 'LoadImageChecked']
