"""Dataset registry: a shuffled, batched, cached and prefetched `tf.data` pipeline of images in [-1, 1]."""

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import tensorflow as tf

from utils.config import IMAGE_SIZES
from utils.datasets import dataset_spec
from utils.epochs import epoch_stream, read_all
from utils.errors import UserError
from utils.folder import load_folder
from utils.idx import load_idx

SHUFFLE_BUFFER = 50_000  # examples in the shuffle buffer of `Data.dataset` (all of them for smaller datasets)


@dataclasses.dataclass
class Data:
    """A ready pipeline and what is known about it.

    Attributes:
        dataset: batches of float32 images (B, S, S, C) in [-1, 1], or (images, int64 labels).
        num_examples: examples per epoch before batching.
        image_size: side in pixels.
        channels: 1 or 3.
        source: where the examples came from, for logs.
        skipped: files skipped (folders only): {reason: count}, e.g. {"unreadable": 2}.
        steps_per_epoch: batches in one epoch.
        epochs: `epochs(first_epoch)` reads every example into memory and gives an endless `tf.data.Dataset`
            of the batches of epoch `first_epoch`, then of the next epoch, and so on (`utils.epochs`); each
            epoch's order depends only on the seed and the epoch's number, so a resumed run sees the same
            batches as an uninterrupted one. Training uses this; `dataset` is for one pass at a time.
    """

    dataset: tf.data.Dataset
    num_examples: int
    image_size: int
    channels: int
    source: str
    skipped: dict = dataclasses.field(default_factory=dict)
    steps_per_epoch: int = 0
    epochs: Callable | None = None


def subset_indices(total, subset, seed):
    """Pick `subset` of `total` example indices, seeded, in ascending order."""
    if subset is None:
        return np.arange(total)
    if subset < 1:
        raise UserError("--subset must be a positive number of examples")
    if subset > total:
        raise UserError(f"--subset {subset} is larger than the data ({total} examples)")
    return np.sort(np.random.default_rng(seed).choice(total, subset, replace=False))


def _fit_image(image, image_size, channels, crop):
    """uint8 (H, W, c) -> uint8 (S, S, channels): channel conversion, optional central crop, resize and crop."""
    if channels == 1 and image.shape[-1] == 3:
        image = tf.image.rgb_to_grayscale(image)
    elif channels == 3 and image.shape[-1] == 1:
        image = tf.image.grayscale_to_rgb(image)
    shape = tf.shape(image)
    if crop is not None:
        side = tf.minimum(crop, tf.minimum(shape[0], shape[1]))
        image = tf.image.crop_to_bounding_box(image, (shape[0] - side) // 2, (shape[1] - side) // 2, side, side)
        shape = tf.shape(image)
    # Resize so the shorter side is image_size, then cut the central square.
    short = tf.cast(tf.minimum(shape[0], shape[1]), tf.float32)
    scale = image_size / short
    new_size = tf.maximum(image_size, tf.cast(tf.round(tf.cast(shape[:2], tf.float32) * scale), tf.int32))
    if image.shape[0] != image_size or image.shape[1] != image_size:
        image = tf.image.resize(image, new_size, antialias=True)
        image = tf.image.resize_with_crop_or_pad(image, image_size, image_size)
        image = tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)
    return tf.ensure_shape(image, (image_size, image_size, channels))


def _scale(image):
    return tf.cast(image, tf.float32) / 127.5 - 1.0


def _from_tfds(tfds_name, split, data_dir):
    """Open a tensorflow-datasets split as a dataset of (uint8 image, label or -1)."""
    import tensorflow_datasets as tfds

    try:
        dataset = tfds.load(tfds_name, split=split, data_dir=data_dir, shuffle_files=False)
    except Exception as exc:  # tfds raises many types (download, missing manual data, bad split)
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"cannot load {tfds_name!r} ({split}) with tensorflow-datasets: {message}") from None
    total = int(dataset.cardinality())
    if total < 0:
        total = int(dataset.reduce(0, lambda count, _: count + 1))
    has_label = "label" in dataset.element_spec and dataset.element_spec["label"].dtype.is_integer
    dataset = dataset.map(lambda ex: (ex["image"], ex["label"] if has_label else tf.constant(-1, tf.int64)))
    return dataset, total


def load_dataset(
    name,
    image_size=None,
    channels=None,
    batch_size=128,
    data_dir=None,
    subset=None,
    seed=0,
    split="train",
    labels=False,
    shuffle=True,
    drop_remainder=True,
):
    """Build the input pipeline of one dataset.

    Args:
        name: a key of `DATASETS` (or an alias such as "svhn").
        image_size: output side; the dataset's default when None.
        channels: 1 or 3; the dataset's own when None.
        batch_size: images per batch.
        data_dir: IDX folder (mnist, fashion_mnist), image folder (folder) or tensorflow-datasets data_dir.
        subset: keep this many examples, chosen with `seed`; all when None.
        seed: seed of the subset choice and of the shuffling.
        split: "train" or "test" (any tfds split string works for tfds datasets).
        labels: yield (images, labels) instead of images; labels are -1 where the dataset has none.
        shuffle: reshuffle every epoch (`Data.dataset` on every iteration; `Data.epochs` by epoch number).
        drop_remainder: drop the last incomplete batch (BatchNorm and several devices want full ones).

    Returns:
        A `Data`.
    """
    name, spec = dataset_spec(name)
    image_size = image_size or spec.image_size
    channels = channels or spec.channels
    if image_size not in IMAGE_SIZES:
        raise UserError(f"unsupported image size {image_size}; choose one of {', '.join(map(str, IMAGE_SIZES))}")
    if channels not in (1, 3):
        raise UserError(f"unsupported channel count {channels}; choose 1 or 3")
    if batch_size < 1:
        raise UserError("--batch-size must be a positive integer")

    skipped = {}
    arrays = None
    if name == "folder":
        if data_dir is None:
            raise UserError("--dataset folder needs --data-dir DIR, the folder of images")
        images, skipped = load_folder(data_dir, image_size, channels)
        arrays, source = (images, np.full(len(images), -1, np.int64)), f"image folder {data_dir}"
    elif spec.idx_dirs:
        for folder in ([data_dir] if data_dir else []) + list(spec.idx_dirs):
            if Path(folder).is_dir() and (found := load_idx(folder, split)) is not None:
                images, label_array = found
                if label_array is None:
                    label_array = np.full(len(images), -1, np.int64)
                arrays, source = (images, label_array), f"IDX files in {folder}"
                break

    if arrays is not None:
        keep = subset_indices(len(arrays[0]), subset, seed)
        total = len(keep)
        dataset = tf.data.Dataset.from_tensor_slices((arrays[0][keep], arrays[1][keep]))
    else:
        dataset, full = _from_tfds(spec.tfds_name, split, data_dir)
        keep = subset_indices(full, subset, seed)
        total = len(keep)
        if subset is not None:
            mask = np.zeros(full, bool)
            mask[keep] = True
            mask = tf.constant(mask)
            dataset = (
                dataset.enumerate().filter(lambda index, _: tf.gather(mask, index)).map(lambda _, example: example)
            )
        source = f"tensorflow-datasets {spec.tfds_name} ({split})"
    if batch_size > total and drop_remainder:
        raise UserError(f"--batch-size {batch_size} is larger than the data ({total} examples)")

    autotune = tf.data.AUTOTUNE
    decoded = dataset.map(lambda image, label: (_fit_image(image, image_size, channels, spec.crop), label), autotune)

    def scaled(batches):
        if labels:
            return batches.map(lambda image, label: (_scale(image), label), autotune).prefetch(autotune)
        return batches.map(lambda image, label: _scale(image), autotune).prefetch(autotune)

    def epochs(first_epoch=0):
        stored = read_all(decoded, total)
        return scaled(epoch_stream(*stored, first_epoch, seed, batch_size, drop_remainder, shuffle))

    # Decode/resize once, cache the uint8 result, then shuffle and scale every time the dataset is iterated.
    once = decoded.cache()
    if shuffle:
        once = once.shuffle(min(total, SHUFFLE_BUFFER), seed=seed, reshuffle_each_iteration=True)
    once = scaled(once.batch(batch_size, drop_remainder=drop_remainder))
    steps = total // batch_size if drop_remainder else math.ceil(total / batch_size)
    return Data(once, total, image_size, channels, source, skipped, steps, epochs)
