"""Data pipeline steps registered in MMEngine's root ``TRANSFORMS`` (see :mod:`.guards`), and the
synthetic "shapes" data set of the demos (:mod:`.shapes`, not imported here: it needs pycocotools)."""
from .guards import CheckSegLabels, DataError, LoadChecked

__all__ = ['CheckSegLabels', 'DataError', 'LoadChecked']
