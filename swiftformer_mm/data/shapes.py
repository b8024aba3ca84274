"""The synthetic "shapes" data set of the CPU demos, in COCO and ADE20K-style layouts.

Each image shows 0-4 filled shapes of three classes (circle, triangle,
square) on a smooth, muted background texture that differs per image (a
blend of low-frequency noise, a linear gradient and soft stripes). A shape
has a random size (its circumscribed circle spans 20%-45% of the image side),
position and rotation, and a saturated fill colour drawn around a
class-dependent hue (circle red, triangle green, square blue) with jitter and
mild per-pixel noise, so colour is a strong cue and the masks still have to
follow the outline. Shapes may overlap; later ones occlude earlier ones.
Instances whose visible area falls below 30% of their full area (or below
64 px) are removed from the layout before the image is drawn, so every shape
visible in an image is annotated. Images whose index is a multiple of
:data:`EMPTY_IMAGE_EVERY` (including the first training image) are
background-only.

Both formats are written from the same pixels::

    OUT_DIR/
      shapes_demo.json                                 (the settings; "complete" once all is written)
      coco/train/*.jpg, coco/val/*.jpg                 (JPEG quality 95)
      coco/annotations/instances_{train,val}.json
      ade/images/{training,validation}/*.jpg           (same JPEG bytes)
      ade/annotations/{training,validation}/*.png

Label conventions:

* COCO (mmdet): categories 1=circle, 2=triangle, 3=square (:data:`CLASSES`
  in that order). Segmentations are COCO RLE (``counts`` as str) of each
  instance's *visible* mask; ``area`` is its pixel count and ``bbox`` is
  ``[x, y, w, h]`` tight around it; ``iscrowd`` is 0.
* ADE20K-style (mmseg): single-channel uint8 PNGs with 1=background,
  2=circle, 3=triangle, 4=square; 0 is never used. Load them with
  ``reduce_zero_label=True`` so mmseg sees four classes, :data:`SEG_CLASSES`
  = (background, circle, triangle, square) = 0..3, and nothing is ignored.
  Use mmseg's ``BaseSegDataset`` with ``img_suffix='.jpg'``,
  ``seg_map_suffix='.png'`` and ``metainfo=dict(classes=SEG_CLASSES)``: the
  ``ADE20KDataset`` class rejects class names outside its own 150. The demo
  configs in ``configs/demo/`` do this and choose the colours the results
  are drawn in.

Generation is deterministic: image ``i`` of a split is drawn from
``numpy.random.default_rng([seed, split_index, i])``, so the same arguments
give byte-identical files. ``tools/misc/make_demo_data.py`` is the command line.

``shapes_demo.json`` (:data:`MARKER`) is written before anything else with
``"complete": false`` and replaced with ``"complete": true`` after the last
file, so that a run stopped half-way is never taken for a data set
(:func:`finished_settings`), and ``--overwrite`` deletes ``coco/`` and
``ade/`` folders only beside it: a user's own COCO or ADE20K is never removed.

Example:
    >>> from swiftformer_mm.data.shapes import make_demo_data
    >>> summary = make_demo_data('data/shapes', num_train=8, num_val=4, size=64)
    >>> summary['val']['images']
    4
"""
import colorsys
import io
import json
import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np
from PIL import Image, ImageDraw
from pycocotools import mask as mask_utils

from ..engine.atomic_backend import write_atomically
from ..utils import OutputExistsError, refuse_overwrite

MARKER = 'shapes_demo.json'
LAYOUTS = ('coco', 'ade')  # the folders this module writes into OUT_DIR
CLASSES = ('circle', 'triangle', 'square')
SEG_CLASSES = ('background', ) + CLASSES

CLASS_HUES = (0.0, 120.0, 240.0)  # fill hue (degrees) of each class; a shape's hue is jittered around it
HUE_JITTER = 40.0
MAX_OBJECTS = 4
SIZE_RANGE = (0.20, 0.45)  # circumscribed diameter, fraction of the side
MIN_VISIBLE_FRACTION = 0.3
MIN_VISIBLE_PIXELS = 64
EMPTY_IMAGE_EVERY = 25
JPEG_QUALITY = 95
MIN_IMAGE_SIZE = 64

SPLITS = (('train', 'training'), ('val', 'validation'))  # (COCO, ADE folder); the position seeds the split


@dataclass
class Shape:
    """One object of the layout.

    Attributes:
        label (int): Index into :data:`CLASSES`.
        mask (np.ndarray): Boolean (H, W) mask of the full, unoccluded shape.
        colour (np.ndarray): Mean RGB fill colour in 0..255.
    """
    label: int
    mask: np.ndarray
    colour: np.ndarray


def _hsv_colour(hue_deg: float, saturation: float, value: float) -> np.ndarray:
    """An RGB colour in 0..255 as a float array."""
    rgb = colorsys.hsv_to_rgb((hue_deg % 360.0) / 360.0, saturation, value)
    return np.array(rgb, dtype=np.float32) * 255.0


def _smooth_noise(rng: np.random.Generator, size: int) -> np.ndarray:
    """Low-frequency noise in [0, 1]: a coarse random grid, upsampled."""
    cells = int(rng.integers(2, 6))
    grid = rng.random((cells, cells)).astype(np.float32)
    field = Image.fromarray(grid).resize((size, size), Image.BICUBIC)
    return np.clip(np.asarray(field), 0.0, 1.0)


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Muted texture: two dull colours blended by noise, gradient and stripes."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    angle = rng.uniform(0, 2 * math.pi)
    along = xx * math.cos(angle) + yy * math.sin(angle)
    periods = rng.uniform(2.0, 8.0)
    stripes = 0.5 + 0.5 * np.sin(2 * math.pi * periods * along + rng.uniform(0, 2 * math.pi))
    gradient = along - along.min()
    gradient /= gradient.max()
    weights = rng.dirichlet((1.0, 1.0, 1.0))
    blend = weights[0] * _smooth_noise(rng, size) + weights[1] * gradient + weights[2] * stripes
    blend = (blend - blend.min()) / max(float(np.ptp(blend)), 1e-6)

    low, high = (_hsv_colour(rng.uniform(0, 360), rng.uniform(0.0, 0.25), rng.uniform(0.25, 0.8))
                 for _ in range(2))
    image = low + blend[..., None] * (high - low)
    return image + rng.normal(0.0, 3.0, image.shape)


def _shape_mask(rng: np.random.Generator, label: int, size: int) -> np.ndarray:
    """Rasterises one randomly placed shape of class ``label``."""
    radius = rng.uniform(*SIZE_RANGE) * size / 2
    cx, cy = rng.uniform(radius, size - radius, 2)
    canvas = Image.new('L', (size, size), 0)
    draw = ImageDraw.Draw(canvas)
    if CLASSES[label] == 'circle':
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=1)
    else:
        corners = 3 if CLASSES[label] == 'triangle' else 4
        start = rng.uniform(0, 2 * math.pi)
        points = [(cx + radius * math.cos(start + 2 * math.pi * k / corners),
                   cy + radius * math.sin(start + 2 * math.pi * k / corners)) for k in range(corners)]
        draw.polygon(points, fill=1)
    return np.asarray(canvas, dtype=bool)


def _random_shape(rng: np.random.Generator, size: int) -> Shape:
    """Draws a class, its mask and a fill colour around the class hue."""
    label = int(rng.integers(len(CLASSES)))
    mask = _shape_mask(rng, label, size)
    hue = CLASS_HUES[label] + rng.uniform(-HUE_JITTER, HUE_JITTER)
    colour = _hsv_colour(hue, rng.uniform(0.55, 0.95), rng.uniform(0.55, 0.95))
    return Shape(label, mask, colour)


def _visible_masks(shapes: List[Shape]) -> List[np.ndarray]:
    """Masks of what remains of each shape once the later shapes are drawn."""
    if not shapes:
        return []
    owner = np.full(shapes[0].mask.shape, -1)
    for index, shape in enumerate(shapes):
        owner[shape.mask] = index
    return [owner == index for index in range(len(shapes))]


def _drop_occluded(shapes: List[Shape]) -> Tuple[List[Shape], List[np.ndarray]]:
    """Removes the most hidden shape until every shape is visible enough.

    Removing a shape only uncovers others, so this ends with every remaining
    shape passing the visibility thresholds.

    Returns:
        tuple: The kept shapes (in drawing order) and their visible masks.
    """
    shapes = list(shapes)
    while True:
        visible = _visible_masks(shapes)
        shown = [int(mask.sum()) for mask in visible]
        full = [int(shape.mask.sum()) for shape in shapes]
        failing = [i for i in range(len(shapes)) if shown[i] < max(MIN_VISIBLE_PIXELS, MIN_VISIBLE_FRACTION * full[i])]
        if not failing:
            return shapes, visible
        del shapes[min(failing, key=lambda i: shown[i] / full[i])]


def _render(rng: np.random.Generator, size: int, shapes: List[Shape]) -> np.ndarray:
    """Paints the shapes, in order, over a fresh background texture."""
    image = _background(rng, size)
    for shape in shapes:
        fill = shape.colour + rng.normal(0.0, 6.0, image.shape)
        image[shape.mask] = fill[shape.mask]
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def make_sample(seed: int, split_index: int, index: int, size: int) -> Tuple[np.ndarray, List[int], List[np.ndarray]]:
    """Generates one image with its annotations.

    Args:
        seed (int): Data set seed.
        split_index (int): Position of the split in :data:`SPLITS`.
        index (int): Image index within the split.
        size (int): Image side in pixels.

    Returns:
        tuple: The (size, size, 3) uint8 RGB image, the kept shapes'
        :data:`CLASSES` indices and their visible boolean masks.
    """
    rng = np.random.default_rng([seed, split_index, index])
    num_shapes = 0 if index % EMPTY_IMAGE_EVERY == 0 else int(rng.integers(1, MAX_OBJECTS + 1))
    shapes, visible = _drop_occluded([_random_shape(rng, size) for _ in range(num_shapes)])
    image = _render(rng, size, shapes)
    return image, [shape.label for shape in shapes], visible


def semantic_label(labels: List[int], masks: List[np.ndarray], size: int) -> np.ndarray:
    """ADE20K-style label map: 1 = background, 2 + class index elsewhere."""
    seg = np.ones((size, size), dtype=np.uint8)
    for label, mask in zip(labels, masks):
        seg[mask] = label + 2
    return seg


def coco_annotation(ann_id: int, image_id: int, label: int, mask: np.ndarray) -> dict:
    """The COCO annotation of one visible instance mask."""
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    rle['counts'] = rle['counts'].decode('ascii')
    ys, xs = np.nonzero(mask)
    x0, y0 = int(xs.min()), int(ys.min())
    return {
        'id': ann_id,
        'image_id': image_id,
        'category_id': label + 1,
        'segmentation': rle,
        'area': int(mask.sum()),
        'bbox': [x0, y0, int(xs.max()) - x0 + 1, int(ys.max()) - y0 + 1],
        'iscrowd': 0,
    }


def _jpeg_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format='JPEG', quality=JPEG_QUALITY)
    return buffer.getvalue()


def _write_split(out_dir: Path, split_index: int, num_images: int, size: int, seed: int) -> dict:
    """Writes one split in both layouts; returns its COCO dict."""
    coco_name, ade_name = SPLITS[split_index]
    image_dirs = (out_dir / 'coco' / coco_name, out_dir / 'ade' / 'images' / ade_name)
    label_dir = out_dir / 'ade' / 'annotations' / ade_name
    for folder in image_dirs + (label_dir, ):
        folder.mkdir(parents=True, exist_ok=True)

    images, annotations = [], []
    for index in range(num_images):
        image, labels, masks = make_sample(seed, split_index, index, size)
        stem = f'{coco_name}_{index:05d}'
        jpeg = _jpeg_bytes(image)
        for folder in image_dirs:
            (folder / f'{stem}.jpg').write_bytes(jpeg)
        Image.fromarray(semantic_label(labels, masks, size)).save(label_dir / f'{stem}.png')

        image_id = index + 1
        images.append({'id': image_id, 'file_name': f'{stem}.jpg', 'width': size, 'height': size})
        for label, mask in zip(labels, masks):
            annotations.append(coco_annotation(len(annotations) + 1, image_id, label, mask))

    return {
        'info': {'description': f'synthetic shapes, {coco_name} split, seed {seed}'},
        'images': images,
        'annotations': annotations,
        'categories': [{'id': i + 1, 'name': name, 'supercategory': 'shape'} for i, name in enumerate(CLASSES)],
    }


def finished_settings(out_dir) -> Optional[dict]:
    """The arguments (``num_train``, ``num_val``, ``size``, ``seed``) of the data set that
    :func:`make_demo_data` finished writing in ``out_dir``; None when there is none (nothing
    made there, or a run that stopped before its end)."""
    try:
        marker = json.loads((Path(out_dir) / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return marker.get('settings') if isinstance(marker, dict) and marker.get('complete') is True else None


def _write_marker(out_dir: Path, settings: dict, complete: bool) -> None:
    write_atomically(out_dir / MARKER, json.dumps(dict(complete=complete, settings=settings), indent=2).encode())


def _prepare_out_dir(out_dir: Path, overwrite: bool, settings: dict) -> None:
    """Refuses a non-empty ``out_dir`` unless ``overwrite``; then deletes the ``coco`` and ``ade``
    folders of an earlier data set of this module (never folders without its marker beside them)
    and marks ``out_dir`` as holding an unfinished one."""
    refuse_overwrite(out_dir, overwrite, '--out-dir', folder=True)
    earlier = [out_dir / name for name in LAYOUTS if (out_dir / name).exists()]
    if earlier and not (out_dir / MARKER).is_file():
        raise OutputExistsError(
            f'--out-dir {out_dir} holds {earlier[0].name}/, which this generator did not write (there is no '
            f'{MARKER} beside it), so it is not replaced: choose another --out-dir')
    for folder in earlier:
        shutil.rmtree(folder)
    _write_marker(out_dir, settings, complete=False)
    (out_dir / 'coco' / 'annotations').mkdir(parents=True, exist_ok=True)


def make_demo_data(out_dir, num_train: int = 400, num_val: int = 50, size: int = 160, seed: int = 0,
                   overwrite: bool = False) -> dict:
    """Generates the shapes data set in COCO and ADE20K-style layouts.

    Args:
        out_dir (str | Path): Output folder.
        num_train (int): Number of training images. Defaults to 400.
        num_val (int): Number of validation images. Defaults to 50.
        size (int): Side of the square images in pixels, at least
            :data:`MIN_IMAGE_SIZE`. Defaults to 160.
        seed (int): Seed; equal arguments give byte-identical files. Defaults to 0.
        overwrite (bool): Write into a non-empty ``out_dir``, replacing an
            earlier data set of this function there, instead of raising.
            Defaults to False.

    Returns:
        dict: Per split (``'train'``, ``'val'``), the number of images and
        instances and the paths of its COCO annotation file and
        ADE20K-style image folder.

    Raises:
        OutputExistsError: ``out_dir`` holds files and ``overwrite`` is False,
            or it holds ``coco/`` or ``ade/`` folders that this function did
            not write (a ``FileExistsError``).
        ValueError: ``size`` is too small or a number of images is negative.
    """
    if size < MIN_IMAGE_SIZE:
        raise ValueError(f'size must be at least {MIN_IMAGE_SIZE}, got {size}')
    if num_train < 0 or num_val < 0:
        raise ValueError('the number of images must not be negative')
    out_dir = Path(out_dir)
    settings = dict(num_train=num_train, num_val=num_val, size=size, seed=seed)
    _prepare_out_dir(out_dir, overwrite, settings)

    summary = {}
    for split_index, num_images in enumerate((num_train, num_val)):
        coco_name, ade_name = SPLITS[split_index]
        coco = _write_split(out_dir, split_index, num_images, size, seed)
        ann_file = out_dir / 'coco' / 'annotations' / f'instances_{coco_name}.json'
        write_atomically(ann_file, json.dumps(coco).encode())
        summary[coco_name] = {
            'images': len(coco['images']),
            'instances': len(coco['annotations']),
            'coco_ann_file': str(ann_file),
            'ade_img_dir': str(out_dir / 'ade' / 'images' / ade_name),
        }
    _write_marker(out_dir, settings, complete=True)
    return summary
