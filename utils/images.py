"""Pixel scaling, sample grids and the progress GIF."""

import math

import numpy as np
from PIL import Image

from utils.files import atomic_path


def to_unit_range(images):
    """Scale uint8 pixels in [0, 255] to float32 in [-1, 1].

    Args:
        images: array or tensor of uint8 (or any numeric type holding 0..255).

    Returns:
        float32 array of the same shape in [-1, 1].
    """
    return np.asarray(images, dtype=np.float32) / 127.5 - 1.0


def to_uint8(images):
    """Scale floats in [-1, 1] back to uint8 pixels, clipping anything outside.

    Args:
        images: array of floats, nominally in [-1, 1].

    Returns:
        uint8 array of the same shape.
    """
    images = (np.asarray(images, dtype=np.float32) + 1.0) * 127.5
    return np.clip(np.rint(images), 0, 255).astype(np.uint8)


def make_grid(images, columns=None, padding=2):
    """Tile a batch of images into one picture.

    Args:
        images: (N, H, W, C) floats in [-1, 1] or uint8.
        columns: images per row; a square-ish layout when None.
        padding: pixels of black between images.

    Returns:
        (rows*(H+p)+p, columns*(W+p)+p, C) uint8 array.
    """
    images = np.asarray(images)
    if images.dtype != np.uint8:
        images = to_uint8(images)
    count, height, width, channels = images.shape
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    grid = np.zeros((rows * (height + padding) + padding, columns * (width + padding) + padding, channels), np.uint8)
    for index, image in enumerate(images):
        top = padding + (index // columns) * (height + padding)
        left = padding + (index % columns) * (width + padding)
        grid[top : top + height, left : left + width] = image
    return grid


def save_png(image, path):
    """Write one (H, W, C) uint8 image to `path` as PNG, atomically."""
    image = np.asarray(image)
    with atomic_path(path) as tmp:
        Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(tmp, format="PNG")


def save_grid(images, path, columns=None):
    """Tile `images` with `make_grid` and write the grid to `path` as PNG."""
    save_png(make_grid(images, columns), path)


def save_gif(png_paths, path, frame_ms=400):
    """Write an animated GIF of the given PNG files, in order, to `path`.

    Args:
        png_paths: the frames.
        path: the GIF to write.
        frame_ms: how long each frame is shown; the last one is held three times as long.
    """
    frames = [Image.open(p).convert("RGB") for p in png_paths]
    if not frames:
        return
    durations = [frame_ms] * (len(frames) - 1) + [frame_ms * 3]
    with atomic_path(path) as tmp:
        frames[0].save(tmp, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0)
