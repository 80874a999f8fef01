"""Load a folder of images (nested, any mix of formats and modes) into one uint8 array, skipping broken files."""

import collections
import os
import stat
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from utils.data import image_checks
from utils.errors import UserError

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")

# Why a file is skipped, as the log counts it.
UNREADABLE, TRUNCATED, TOO_LARGE, NOT_A_FILE = "unreadable", "truncated", "too large", "not a regular file"


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


def decode_image(path, size, channels):
    """Decode one file to a (size, size, channels) uint8 array, or say why it cannot be used.

    Handles grayscale, RGB, RGBA and gray+alpha (alpha composited on white), palette and 16-bit images.
    Skips what is not a regular file (a FIFO, a device, a symbolic-link loop), files over
    `image_checks.MAX_FILE_BYTES`, pictures over `image_checks.MAX_PIXELS`, truncated files and anything
    that does not decode.

    Returns:
        (the image, None), or (None, the reason: UNREADABLE, TRUNCATED, TOO_LARGE or NOT_A_FILE).
    """
    try:
        info = os.stat(path)  # follows symbolic links; a loop or a dangling link raises OSError
        if not stat.S_ISREG(info.st_mode):
            return None, NOT_A_FILE
        if info.st_size > image_checks.MAX_FILE_BYTES:
            return None, TOO_LARGE
        with open(path, "rb") as handle:
            raw = handle.read(image_checks.MAX_FILE_BYTES + 1)
    except OSError:
        return None, UNREADABLE
    return decode_bytes(raw, size, channels)


def decode_bytes(raw, size, channels):
    """Decode one encoded image (the bytes of a file or of an LMDB value) as `decode_image` does.

    Returns:
        (the (size, size, channels) uint8 image, None), or (None, the reason: UNREADABLE, TRUNCATED or TOO_LARGE).
    """
    if len(raw) > image_checks.MAX_FILE_BYTES:
        return None, TOO_LARGE
    header = image_checks.read_header(raw)
    if header is None:
        return None, UNREADABLE
    image_format, pixels = header
    if pixels > image_checks.MAX_PIXELS:
        return None, TOO_LARGE
    if not image_checks.is_complete(raw, image_format):
        return None, TRUNCATED
    image = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None or image.size == 0 or image.ndim not in (2, 3):
        return None, UNREADABLE
    if image.dtype == np.uint16:
        image = (image / 257.0).round().astype(np.uint8)
    elif image.dtype != np.uint8:
        return None, UNREADABLE
    if image.ndim == 3 and image.shape[2] == 4:
        alpha = image[..., 3:4].astype(np.float32) / 255.0
        image = (image[..., :3] * alpha + 255.0 * (1.0 - alpha)).round().astype(np.uint8)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if channels == 1:
        image = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    else:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB if image.ndim == 2 else cv2.COLOR_BGR2RGB)
    return resize_and_crop(image, size), None


def read_image(path, size, channels):
    """Decode one file to a (size, size, channels) uint8 array, or None when it cannot be used (see `decode_image`)."""
    return decode_image(path, size, channels)[0]


def usable_cpus():
    """The number of CPUs this process may run on (a container's share, where `os.cpu_count` gives the host's)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def load_folder(root, size, channels, workers=None):
    """Decode every image under `root` in parallel threads.

    Args:
        root: the folder.
        size: output side in pixels.
        channels: 1 or 3.
        workers: decoding threads (OpenCV releases the GIL); by default one per usable CPU. More threads than
            CPUs were slower: 8 threads on 2 cores decoded 1.2-1.5x slower than 2 (benchmarks/folder_decode.py).

    Returns:
        (images (N, size, size, channels) uint8 in file-name order, skipped files as {reason: count}).

    Raises:
        UserError: the folder is missing, holds no image files, or none of them can be read.
    """
    paths = list_images(root)
    if not paths:
        raise UserError(f"no image files ({'/'.join(e[1:] for e in EXTENSIONS)}) under {root}")
    log_level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)  # skipped files are counted instead
    try:
        with warnings.catch_warnings(), ThreadPoolExecutor(workers or usable_cpus()) as pool:
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # huge pictures are counted too
            decoded = list(pool.map(lambda p: decode_image(p, size, channels), paths))
    finally:
        cv2.utils.logging.setLogLevel(log_level)
    images = [image for image, _ in decoded if image is not None]
    skipped = dict(collections.Counter(reason for image, reason in decoded if image is None))
    if not images:
        raise UserError(f"none of the {len(paths)} image files under {root} could be read ({reasons_text(skipped)})")
    return np.stack(images), skipped


def reasons_text(skipped):
    """'2 unreadable, 1 truncated' for {reason: count}."""
    return ", ".join(f"{count} {reason}" for reason, count in sorted(skipped.items()))


def describe_skipped(skipped):
    """'3 files skipped: 2 unreadable, 1 truncated' for {reason: count}; '' when nothing was skipped."""
    total = sum(skipped.values())
    return f"{total} file{'s' if total != 1 else ''} skipped: {reasons_text(skipped)}" if total else ""
