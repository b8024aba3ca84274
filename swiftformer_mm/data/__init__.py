"""Data pipeline steps registered in MMEngine's root ``TRANSFORMS`` (see :mod:`.guards`)."""
from .guards import CheckSegLabels, DataError, LoadChecked

__all__ = ['CheckSegLabels', 'DataError', 'LoadChecked']
