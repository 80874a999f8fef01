"""Reader for IDX files, the native format of MNIST and Fashion-MNIST (optionally gzipped)."""

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from utils.errors import UserError

# Type byte of the IDX header -> numpy dtype (big-endian as the format says).
_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

# File stems of the two splits, as MNIST and Fashion-MNIST name them.
_STEMS = {"train": "train", "test": "t10k"}


def read_idx(path):
    """Read one IDX file into a numpy array.

    Args:
        path: an `.idx*-ubyte` file, gzipped when its name ends in `.gz`.

    Returns:
        The array, with the shape the header gives.

    Raises:
        UserError: the file is unreadable, has a wrong magic number, or is shorter or longer than its header says.
    """
    path = Path(path)
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as handle:
            data = handle.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise UserError(f"cannot read IDX file {path}: {exc}") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _DTYPES:
        raise UserError(f"{path} is not an IDX file (wrong magic number)")
    dtype = np.dtype(_DTYPES[data[2]])
    dims = data[3]
    header = 4 + 4 * dims
    if len(data) < header:
        raise UserError(f"IDX file {path} is truncated (incomplete header)")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    expected = math.prod(shape) * dtype.itemsize  # Python integers: no overflow for absurd headers
    if len(data) - header < expected:
        raise UserError(f"IDX file {path} is truncated ({len(data) - header} of {expected} data bytes)")
    if len(data) - header > expected:
        # A header that undercounts would otherwise silently shift or drop pixels.
        raise UserError(
            f"IDX file {path} has {len(data) - header - expected} bytes more than its header's shape {shape} holds"
        )
    return (
        np.frombuffer(data, dtype, count=expected // dtype.itemsize, offset=header)
        .reshape(shape)
        .astype(dtype.newbyteorder("="))
    )


def find_idx(folder, split="train"):
    """Find the images and labels IDX files of one split in `folder`.

    Args:
        folder: where to look (not recursive).
        split: "train" or "test".

    Returns:
        (images_path, labels_path or None), or None when no images file is there.
    """
    folder = Path(folder)
    stem = _STEMS.get(split, split)

    def first(kind):
        for name in (f"{stem}-{kind}-idx{{}}-ubyte", f"{stem}-{kind}.idx{{}}-ubyte"):
            for dims in ("3", "1"):
                for suffix in ("", ".gz"):
                    candidate = folder / (name.format(dims) + suffix)
                    if candidate.is_file():
                        return candidate
        return None

    images = first("images")
    return (images, first("labels")) if images else None


def load_idx(folder, split="train"):
    """Load images (N, H, W, 1) uint8 and labels (N,) int64 (or None) from the IDX files in `folder`.

    Returns:
        (images, labels), or None when `folder` holds no IDX images for `split`.

    Raises:
        UserError: a file is malformed, or the labels do not match the images.
    """
    found = find_idx(folder, split)
    if found is None:
        return None
    images = read_idx(found[0])
    if images.ndim != 3 or images.dtype != np.uint8:
        raise UserError(f"{found[0]} does not hold uint8 images (shape {images.shape}, type {images.dtype})")
    if 0 in images.shape:
        raise UserError(f"{found[0]} holds no images (shape {images.shape})")
    labels = None
    if found[1] is not None:
        labels = read_idx(found[1]).astype(np.int64)
        if labels.shape != (len(images),):
            raise UserError(f"{found[1]} has {labels.shape} labels for {len(images)} images")
    return images[..., None], labels
