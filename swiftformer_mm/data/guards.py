"""Pipeline steps that turn unreadable files and out-of-range labels into clear errors.

Left alone, the libraries' loading steps meet an empty, corrupt or truncated
image or label map with a bare ``AssertionError`` (``failed to load
image``), Pillow's ``image file is truncated`` or an OpenCV error deep in a
traceback, and a label map holding a value past the last class reaches the
loss, where it fails as ``Target 7 is out of bounds`` without naming any
file. ``tools/train.py``, ``tools/test.py`` and ``tools/visualize.py`` put
these two steps into every pipeline (see
``swiftformer_mm.cli.guard_pipeline``):

- :class:`LoadChecked` wraps a loading step (``LoadImageFromFile``,
  ``LoadAnnotations``, any ``Load*``) and raises :class:`DataError` naming
  the file it could not read. With ``skip_unreadable=True``
  (``tools/train.py --skip-unreadable``) such a training sample is skipped
  with a warning, and the dataset draws another one; evaluation never skips
  (the metric would be computed on fewer images than the split holds).
- :class:`CheckSegLabels`, after ``LoadAnnotations``, raises
  :class:`DataError` naming the label file and the values that are neither
  a class index nor the ignore index.

A :class:`DataError` raised in a DataLoader worker reaches the main process
with its message intact (see ``swiftformer_mm.cli.error_message``). This
module imports without mmcv: the wrapped step is built when
:class:`LoadChecked` is.
"""
import logging
import os.path as osp
from typing import Optional, Tuple

import numpy as np
from mmengine.logging import print_log
from mmengine.registry import TRANSFORMS

# the files a loading step reads, by the results key that holds the path, and how to call them
FILE_KINDS = {'img_path': 'image', 'seg_map_path': 'label map'}


class DataError(ValueError):
    """An input file of a data set that cannot be used; the message names the file."""


@TRANSFORMS.register_module()
class LoadChecked:
    """Runs a loading step; a file it cannot read is a :class:`DataError` naming the file.

    Args:
        transform (dict): The loading step's config, e.g.
            ``dict(type='LoadImageFromFile')``, built in the current default scope.
        skip_unreadable (bool): Return None (the dataset then draws another
            sample; only training datasets do) with a warning instead of
            raising (``ignore_empty=True`` of ``LoadImageFromFile`` is taken
            as this). Defaults to False.
    """

    def __init__(self, transform: dict, skip_unreadable: bool = False):
        transform = dict(transform)
        self.skip_unreadable = skip_unreadable or transform.pop('ignore_empty', False)
        self.transform = TRANSFORMS.build(transform)

    def __call__(self, results: dict) -> Optional[dict]:
        try:
            return self.transform(results)
        except DataError:
            raise
        except Exception as error:  # mmcv, Pillow, OpenCV and the file backends each raise their own
            step = type(self.transform).__name__
            unreadable = _unreadable_file(step, results, error)
            if unreadable is None:  # no file to blame: the sample's annotations
                raise DataError(f"{step} failed on image {results.get('img_path')}: {_first_line(error)}. "
                                'Check its annotations') from None
        what, reason = unreadable
        if not self.skip_unreadable:
            raise DataError(f'cannot read {what}: {reason}. Replace or remove the file (or train with '
                            '--skip-unreadable to skip such samples with a warning)')
        print_log(f'skipped unreadable {what} ({reason})', logger='current', level=logging.WARNING)
        return None

    def __repr__(self) -> str:
        return f'{type(self).__name__}(skip_unreadable={self.skip_unreadable}, transform={self.transform!r})'


def _unreadable_file(step: str, results: dict, error: Exception) -> Optional[Tuple[str, str]]:
    """('image PATH' or 'label map PATH', why) for the file ``step`` failed to read: the first of
    the files it reads (an image step its image, another its label map) that is missing or empty,
    else the first of them, with the library's own words; None when it reads none."""
    keys = ['img_path'] if 'Image' in step else [key for key in FILE_KINDS if key != 'img_path']
    files = [(f'{FILE_KINDS[key]} {results[key]}', results[key]) for key in keys
             if isinstance(results.get(key), str)]
    for what, path in files:
        if '://' not in path and not osp.isfile(path):
            return what, 'no such file'
        if '://' not in path and osp.getsize(path) == 0:
            return what, 'the file is empty'
    if not files:
        return None
    what, path = files[0]
    if '://' in path:  # a remote file: the backend's own words
        return what, _first_line(error)
    return what, f'the file is truncated, corrupt or not an image ({_first_line(error)})'


def _first_line(error: Exception) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return f'{type(error).__name__}: {lines[0][:200]}' if lines else type(error).__name__


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
