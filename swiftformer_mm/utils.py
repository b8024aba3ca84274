"""Helpers shared by the library's command lines that need only the standard library
(``swiftformer_mm.cli`` imports mmcv; ``swiftformer_mm.benchmark`` must not)."""
import argparse
import os
from pathlib import Path
from typing import Optional, Tuple


def parse_size(text: str) -> Tuple[int, int]:
    """``'HEIGHTxWIDTH'`` (e.g. ``'800x1216'``) -> ``(800, 1216)``, as an argparse ``type``."""
    try:
        height, width = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(f'a size is HEIGHTxWIDTH, e.g. 512x512, got {text!r}')
    if height <= 0 or width <= 0:
        raise argparse.ArgumentTypeError(f'a size is positive, got {text!r}')
    return height, width


class OutputExistsError(FileExistsError):
    """An output path that holds earlier results; the message names it and the two ways on."""


def refuse_overwrite(path, overwrite: bool, option: str = '', folder: bool = False) -> None:
    """The one rule of every tool that writes results: never write over them unasked.

    Call it before any work starts. A file output (``folder=False``) is
    occupied when ``path`` exists; a folder output when it holds anything.
    An occupied output is refused unless ``overwrite`` (the tools'
    ``--overwrite``); a folder where a file goes, or a file where a folder
    goes, is refused either way. ``option`` (e.g. ``'--out'``) is named in
    the message before the path.

    Raises:
        OutputExistsError: naming ``path`` and saying to pass ``--overwrite``
            or choose another path.
    """
    path = os.fspath(path)
    shown = f'{option} {path}' if option else path
    if folder:
        if os.path.exists(path) and not os.path.isdir(path):
            raise OutputExistsError(f'{shown} is a file, not a folder; choose another path')
        if os.path.isdir(path) and os.listdir(path) and not overwrite:
            raise OutputExistsError(f'{shown} already holds files; pass --overwrite to write into '
                                    'it anyway, or choose another path')
    else:
        if os.path.isdir(path):
            raise OutputExistsError(f'{shown} is a folder, not a file; choose another path')
        if os.path.lexists(path) and not overwrite:
            raise OutputExistsError(f'{shown} already exists; pass --overwrite to replace it, '
                                    'or choose another path')


def newest_run_file(work_dir, pattern: str) -> Optional[Path]:
    """The file ``pattern`` (a glob inside a run folder ``WORK_DIR/<timestamp>/``) of the newest run
    of ``work_dir`` that has one, newest by the file's modification time; None when none has."""
    files = sorted(Path(work_dir).glob(f'*/{pattern}'), key=os.path.getmtime)
    return files[-1] if files else None
