"""Pipeline steps that turn unreadable images and out-of-range labels into clear errors.

Left alone, mmcv's ``LoadImageFromFile`` meets an empty, corrupt or
truncated file with a bare ``AssertionError`` (``failed to load image``) or
an OpenCV error deep in a traceback, and a label map holding a value past
the last class reaches the loss, where it fails as ``Target 7 is out of
bounds`` without naming any file. ``tools/train.py`` and ``tools/test.py``
put these two steps into every pipeline (see
``swiftformer_mm.apis.guard_pipelines``):

- :class:`LoadImageChecked` loads as ``LoadImageFromFile`` does (same
  arguments; grayscale, RGBA and 16-bit files become 8-bit BGR as there),
  and raises :class:`DataError` naming the file when it cannot be decoded.
  With ``skip_unreadable=True`` (``tools/train.py --skip-unreadable``) a
  training image that cannot be read is skipped with a warning, and the
  dataset draws another one; evaluation never skips (the metric would be
  computed on fewer images than the split holds).
- :class:`CheckSegLabels`, after ``LoadAnnotations``, raises
  :class:`DataError` naming the label file and the values that are neither
  a class index nor the ignore index.

They are plain callables, so that this module imports without mmcv; the
loader builds mmcv's own ``LoadImageFromFile`` when it is constructed.
"""
import logging
import os.path as osp

import numpy as np
from mmengine.logging import print_log
from mmengine.registry import TRANSFORMS


class DataError(ValueError):
    """An input file of a data set that cannot be used; the message names the file."""


@TRANSFORMS.register_module()
class LoadImageChecked:
    """mmcv's ``LoadImageFromFile`` with a clear error, or a warned skip, for unreadable files.

    Args:
        skip_unreadable (bool): Return None (the dataset then draws another
            sample; only training datasets do) instead of raising. Defaults to False.
        **kwargs: Arguments of ``LoadImageFromFile`` (``ignore_empty`` is the
            same as ``skip_unreadable``, without the warning).
    """

    def __init__(self, skip_unreadable: bool = False, **kwargs):
        from mmcv.transforms import LoadImageFromFile
        self.skip_unreadable = skip_unreadable or kwargs.pop('ignore_empty', False)
        self.loader = LoadImageFromFile(**kwargs)

    def __call__(self, results: dict):
        path = results['img_path']
        try:
            loaded = self.loader(results)
        except Exception as error:  # mmcv raises AssertionError, OSError or OpenCV's error
            reason = _why_unreadable(path, error)
            if not self.skip_unreadable:
                raise DataError(f'cannot read image {path}: {reason}. Replace or remove the file '
                                '(or train with --skip-unreadable to skip such images with a '
                                'warning)') from None
            print_log(f'skipped unreadable image {path} ({reason})', logger='current',
                      level=logging.WARNING)
            return None
        return loaded

    def __repr__(self) -> str:
        return f'{type(self).__name__}(skip_unreadable={self.skip_unreadable}, loader={self.loader!r})'


def _why_unreadable(path: str, error: Exception) -> str:
    if '://' in path:  # a remote file: the backend's own words
        return str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
    if not osp.isfile(path):
        return 'no such file'
    if osp.getsize(path) == 0:
        return 'the file is empty'
    return 'the file is truncated, corrupt or not an image'


@TRANSFORMS.register_module()
class CheckSegLabels:
    """Fails on a label map with values other than ``0..num_classes-1`` and ``ignore_index``.

    Reads ``gt_seg_map`` as ``LoadAnnotations`` left it (after
    ``reduce_zero_label``, which maps 0 to 255 and every other value v to
    v - 1); the message gives the values as they are stored in the file.

    Args:
        num_classes (int): Number of classes of the decode head.
        ignore_index (int): Label value the loss ignores. Defaults to 255.
    """

    def __init__(self, num_classes: int, ignore_index: int = 255):
        self.num_classes = num_classes
        self.ignore_index = ignore_index

    def __call__(self, results: dict) -> dict:
        labels = results.get('gt_seg_map')
        if labels is None:
            return results
        values = np.unique(labels)
        bad = values[((values < 0) | (values >= self.num_classes)) & (values != self.ignore_index)]
        if bad.size:
            reduced = bool(results.get('reduce_zero_label'))
            stored = sorted(int(v) + 1 if reduced else int(v) for v in bad)
            valid = (f'1-{self.num_classes}, with 0 ignored (reduce_zero_label=True)' if reduced
                     else f'0-{self.num_classes - 1}, and {self.ignore_index} ignored')
            raise DataError(f"label map {results.get('seg_map_path')} holds values {stored[:10]} "
                            f'outside the {self.num_classes} classes of the model (valid: {valid}). '
                            'Fix the file, or check num_classes and reduce_zero_label in the config')
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(num_classes={self.num_classes}, ignore_index={self.ignore_index})'
