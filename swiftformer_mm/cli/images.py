"""Input images and output files of ``tools/visualize.py``."""
from pathlib import Path
from typing import Iterable, List, Tuple

import mmcv
import numpy as np

from ..utils import refuse_overwrite

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp')


class UnreadableImageError(OSError):
    """An input that cannot be decoded as an image; the message names the file."""


def collect_images(inputs: Iterable[str]) -> List[Tuple[Path, Path]]:
    """The images named by ``inputs``, each with the file name to draw it to.

    A file is taken as it is (whatever its suffix) and drawn to
    ``<stem>.png``; a folder is searched recursively for
    :data:`IMAGE_SUFFIXES` (any case), each found image drawn to its path
    relative to the folder with the suffix ``.png``.

    Raises:
        FileNotFoundError: an input does not exist, or a folder holds no image.
        ValueError: two different images would be drawn to the same file.
    """
    pairs = []
    for item in map(Path, inputs):
        if item.is_dir():
            found = sorted(p for p in item.rglob('*')
                           if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise FileNotFoundError(f'no {"/".join(IMAGE_SUFFIXES)} images in folder {item}')
            pairs += [(path, path.relative_to(item).with_suffix('.png')) for path in found]
        elif item.is_file():
            pairs.append((item, Path(item.name).with_suffix('.png')))
        else:
            raise FileNotFoundError(f'input not found: {item}')
    return unique_outputs(pairs)


def unique_outputs(pairs: List[Tuple[Path, Path]]) -> List[Tuple[Path, Path]]:
    """``pairs`` without repeated images; ValueError when two images share an output name."""
    seen = {}
    for image, name in pairs:
        if name in seen and seen[name].resolve() != image.resolve():
            raise ValueError(f'{seen[name]} and {image} would both be drawn to {name}; '
                             'visualize them in separate runs')
        seen.setdefault(name, image)
    return [(image, name) for name, image in seen.items()]


def prepare_out_dir(out_dir: Path, overwrite: bool) -> None:
    """Creates ``out_dir``; refuses one that holds files unless ``overwrite``.

    With ``overwrite``, files of the same name are replaced and other files are
    left alone.

    Raises:
        OutputExistsError: ``out_dir`` is a file, or a non-empty folder without
            ``overwrite`` (:func:`swiftformer_mm.utils.refuse_overwrite`).
    """
    refuse_overwrite(out_dir, overwrite, '--out-dir', folder=True)
    out_dir.mkdir(parents=True, exist_ok=True)


def read_rgb(path: Path) -> np.ndarray:
    """The image at ``path`` as an RGB uint8 array.

    Raises:
        UnreadableImageError: the file is missing or not a decodable image.
    """
    try:
        image = mmcv.imread(str(path))  # BGR, or None when the bytes do not decode
    except (OSError, ValueError) as error:
        raise UnreadableImageError(f'cannot read image {path}: {error}') from None
    if image is None:
        raise UnreadableImageError(f'cannot read image {path}: not a decodable image '
                                   '(corrupt, truncated or not an image file)')
    return mmcv.bgr2rgb(image)
