"""The regions of `forget`: masks from a file or a built-in rule, their checks and their share of each layer position.

Masks come from a file or from a built-in rule (Fashion-MNIST has no labelled boxes):
`bright:T` marks the pixels brighter than T (0 = black, 1 = white; the mean over channels) in each
generated image; `box:TOP,LEFT,BOTTOM,RIGHT` marks the same box of pixels in every image (rows TOP to
BOTTOM - 1, columns LEFT to RIGHT - 1).
"""

import numpy as np

from utils.errors import UserError


def parse_rule(text):
    """Check a mask rule ("bright:T" or "box:TOP,LEFT,BOTTOM,RIGHT"); returns (kind, numbers)."""
    kind, _, values = text.partition(":")
    try:
        numbers = [float(value) for value in values.split(",")] if values else []
    except ValueError:
        numbers = None
    if kind == "bright" and numbers is not None and len(numbers) == 1 and 0 <= numbers[0] < 1:
        return kind, numbers
    if kind == "box" and numbers is not None and len(numbers) == 4 and all(n == int(n) >= 0 for n in numbers):
        top, left, bottom, right = map(int, numbers)
        if top < bottom and left < right:
            return kind, [top, left, bottom, right]
    raise UserError(f"bad --rule {text!r}; use bright:T with 0 <= T < 1, or box:TOP,LEFT,BOTTOM,RIGHT in pixels")


def rule_masks(rule, images):
    """Region masks (N, S, S) bool of a parsed rule for generated `images` (N, S, S, C) in [-1, 1]."""
    kind, numbers = rule
    count, height, width = images.shape[:3]
    if kind == "bright":
        return (images.mean(axis=-1) + 1) / 2 > numbers[0]
    top, left, bottom, right = numbers
    if bottom > height or right > width:
        raise UserError(f"--rule box:{top},{left},{bottom},{right} lies outside the {height}x{width} images")
    masks = np.zeros((count, height, width), bool)
    masks[:, top:bottom, left:right] = True
    return masks


def check_masks(masks, count, name=None):
    """Check that `masks` hold one 2-D region mask per sample, (N, S, S) or (N, S, S, 1); returns (N, S, S) bool.

    Args:
        masks: the region masks.
        count: number of samples.
        name: how messages name the masks (their file), or None.
    """
    masks = np.asarray(masks)
    if masks.ndim == 4 and masks.shape[-1] == 1:
        masks = masks[..., 0]
    if masks.ndim != 3 or len(masks) != count:
        raise UserError(
            f"{_masks(name)} have shape {masks.shape}; --n {count} needs ({count}, S, S): a mask per sample"
        )
    return masks.astype(bool)


def check_mask_size(masks, image_shape, name=None):
    """UserError unless the (N, S, S) `masks` are as large as the generated images of `image_shape`."""
    if masks.shape[1:] != tuple(image_shape[:2]):
        raise UserError(
            f"{_masks(name)} are {masks.shape[1]}x{masks.shape[2]}, "
            f"but the generator draws {image_shape[0]}x{image_shape[1]} images"
        )


def _masks(name):
    return f"masks in {name}" if name is not None else "the masks"


def cell_fractions(masks, size):
    """Fraction of each (size x size) layer position's block of pixels inside the region: (N, size, size)."""
    count, height, width = masks.shape
    if height % size or width % size:
        raise UserError(f"the {height}x{width} masks do not divide into the layer's {size}x{size} positions")
    factor = height // size
    return masks.reshape(count, size, factor, size, factor).mean(axis=(2, 4))
