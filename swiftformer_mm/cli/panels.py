"""Qualitative images a reader can read: small images drawn enlarged, and each half of a
ground truth | prediction panel captioned."""
import math

import cv2
import mmcv
import numpy as np
import torch
from mmengine.structures import PixelData

MIN_SIDE = 480  # the shorter side of a drawn image, in pixels, at least
CAPTIONS = ('ground truth', 'prediction')


def enlargement(height: int, width: int, min_side: int = MIN_SIDE) -> int:
    """The integer factor that brings the shorter side of an image to ``min_side`` or more
    (1 for an image that large already)."""
    return max(1, math.ceil(min_side / min(height, width)))


def _repeat(array, factor: int) -> np.ndarray:
    """``array`` (..., H, W) with each pixel repeated into a ``factor`` x ``factor`` block."""
    array = array.numpy() if isinstance(array, torch.Tensor) else np.asarray(array)
    return array.repeat(factor, axis=-2).repeat(factor, axis=-1)


def enlarge(image: np.ndarray, sample, factor: int):
    """``image`` and the instances and class maps of ``sample`` (a DetDataSample or
    SegDataSample, not modified) ``factor`` times larger, to draw labels in readable sizes.

    The image is resized bilinearly; boxes are scaled; masks and class maps
    repeat each pixel, so that they stay exact.
    """
    if factor == 1:
        return image, sample
    height, width = image.shape[:2]
    image = mmcv.imresize(image, (width * factor, height * factor), interpolation='bilinear')
    sample = sample.clone()
    for key in ('gt_instances', 'pred_instances'):
        if key in sample:
            instances = sample.get(key)
            if 'bboxes' in instances:
                instances.bboxes = instances.bboxes * factor
            if 'masks' in instances:
                masks = instances.masks
                instances.masks = _repeat(masks.to_ndarray() if hasattr(masks, 'to_ndarray') else masks,
                                          factor)
    for key in ('gt_sem_seg', 'pred_sem_seg'):
        if key in sample:
            setattr(sample, key, PixelData(data=torch.from_numpy(_repeat(sample.get(key).data, factor))))
    return image, sample


def caption(panel: np.ndarray, captions=CAPTIONS) -> np.ndarray:
    """``panel`` (H, W, 3) of ``len(captions)`` side-by-side images of equal width, with a white
    band above it that names each image in black, centred over it."""
    width = panel.shape[1] // len(captions)
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, max(0.5, width / 480)
    thickness = max(1, round(2 * scale))
    text_height = cv2.getTextSize('Xg', font, scale, thickness)[0][1]
    band = np.full((2 * text_height, panel.shape[1], 3), 255, dtype=np.uint8)
    for index, text in enumerate(captions):
        (text_width, _), _ = cv2.getTextSize(text, font, scale, thickness)
        origin = (index * width + (width - text_width) // 2, band.shape[0] * 2 // 3)
        cv2.putText(band, text, origin, font, scale, (0, 0, 0), thickness, cv2.LINE_AA)
    return np.concatenate([band, panel])
