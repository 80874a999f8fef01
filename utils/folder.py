"""Load a folder of images (nested, any mix of formats and modes) into one uint8 array."""

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from utils.errors import UserError

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


def list_images(root):
    """List image files under `root`, recursively, sorted; symbolic links to folders are not followed."""
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"image folder {root} does not exist")
    found = []
    for folder, _, names in os.walk(root, followlinks=False):
        found += [Path(folder) / name for name in names if name.lower().endswith(EXTENSIONS)]
    return sorted(found)


def resize_and_crop(image, size):
    """Resize so that the shorter side is `size`, then take the central `size` x `size` square."""
    height, width = image.shape[:2]
    scale = size / min(height, width)
    new_h, new_w = max(size, round(height * scale)), max(size, round(width * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    image = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    if image.ndim == 2:
        image = image[..., None]
    top, left = (new_h - size) // 2, (new_w - size) // 2
    return image[top : top + size, left : left + size]


def read_image(path, size, channels):
    """Decode one file to a (size, size, channels) uint8 array, or None when it cannot be read.

    Handles grayscale, RGB, RGBA (alpha composited on white), palette and 16-bit images.
    """
    try:
        raw = np.fromfile(path, dtype=np.uint8)
    except OSError:
        return None
    if raw.size == 0:
        return None
    image = cv2.imdecode(raw, cv2.IMREAD_UNCHANGED)
    if image is None or image.size == 0 or image.ndim not in (2, 3):
        return None
    if image.dtype == np.uint16:
        image = (image / 257.0).round().astype(np.uint8)
    elif image.dtype != np.uint8:
        return None
    if image.ndim == 3 and image.shape[2] == 4:
        alpha = image[..., 3:4].astype(np.float32) / 255.0
        image = (image[..., :3] * alpha + 255.0 * (1.0 - alpha)).round().astype(np.uint8)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if channels == 1:
        image = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    else:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB if image.ndim == 2 else cv2.COLOR_BGR2RGB)
    return resize_and_crop(image, size)


def load_folder(root, size, channels, workers=8):
    """Decode every image under `root` in parallel threads.

    Args:
        root: the folder.
        size: output side in pixels.
        channels: 1 or 3.
        workers: decoding threads (OpenCV releases the GIL).

    Returns:
        (images (N, size, size, channels) uint8, number of files skipped as unreadable).

    Raises:
        UserError: the folder is missing, holds no image files, or none of them can be read.
    """
    paths = list_images(root)
    if not paths:
        raise UserError(f"no image files ({'/'.join(e[1:] for e in EXTENSIONS)}) under {root}")
    with ThreadPoolExecutor(workers) as pool:
        decoded = list(pool.map(lambda p: read_image(p, size, channels), paths))
    images = [image for image in decoded if image is not None]
    if not images:
        raise UserError(f"none of the {len(paths)} image files under {root} could be read")
    return np.stack(images), len(paths) - len(images)
