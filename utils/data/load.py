"""Dataset loading: every example decoded once into a uint8 array, then batches for training and analysis.

Training reads `Data.epochs()`: plain NumPy batches of uint8 images (scaled to [-1, 1] on the device by the
trainer), the same on every Keras backend and without TensorFlow for IDX files and image folders.
Analysis reads `Data.dataset`: a `tf.data` pipeline of float32 images in [-1, 1]. tensorflow-datasets
sources need TensorFlow for both.
"""

import dataclasses
import functools
import math
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from utils.data.epochs import epoch_batches, prefetch
from utils.data.folder import load_folder
from utils.data.idx import find_idx, load_idx
from utils.data.lmdb_source import load_lmdb, lsun_folder
from utils.data.registry import IMAGE_SIZES, dataset_spec
from utils.data.tfds_source import read_all, split_examples
from utils.errors import UserError
from utils.images import to_unit_range

SHUFFLE_BUFFER = 50_000  # examples in the shuffle buffer of `Data.dataset` (all of them for smaller datasets)


@dataclasses.dataclass
class Data:
    """A loaded dataset and what is known about it.

    Attributes:
        num_examples: examples per epoch before batching.
        image_size: side in pixels.
        channels: 1 or 3.
        source: where the examples came from, for logs.
        skipped: files skipped (folders only): {reason: count}, e.g. {"unreadable": 2}.
        steps_per_epoch: batches in one epoch.
        batch_size, seed, shuffle, drop_remainder, labels: the `load_dataset` arguments.
        read: returns every example as (uint8 images (N, S, S, C), int64 labels (N,)), -1 for no label.
        make_dataset: builds the `tf.data` pipeline behind `dataset`.
    """

    num_examples: int
    image_size: int
    channels: int
    source: str
    skipped: dict
    steps_per_epoch: int
    batch_size: int
    seed: int
    shuffle: bool
    drop_remainder: bool
    labels: bool
    read: Callable
    make_dataset: Callable

    @functools.cached_property
    def dataset(self):
        """`tf.data.Dataset` of float32 image batches in [-1, 1] (or (images, labels)), reshuffled per iteration."""
        return self.make_dataset()

    @functools.cached_property
    def _stored(self):
        return self.read()

    def arrays(self):
        """Every example in memory: (uint8 images (N, S, S, C), int64 labels (N,)), read on first use."""
        return self._stored

    def sample(self, n):
        """`n` examples (all of them when there are fewer) as float32 images in [-1, 1], without TensorFlow.

        A seeded random choice when the data is shuffled, else the first `n`.

        Returns:
            (min(n, N), S, S, C) float32 array.
        """
        images, _ = self.arrays()
        if self.shuffle:
            chosen = np.random.default_rng(self.seed).permutation(len(images))[:n]
        else:
            chosen = np.arange(min(n, len(images)))
        return to_unit_range(images[chosen])

    def epochs(self, first_epoch=0, shard=(0, 1)):
        """Endless uint8 batches of epoch `first_epoch`, then the next, and so on (`utils.data.epochs`).

        Each epoch's order depends only on the seed and the epoch's number, so a resumed run sees the same
        batches as an uninterrupted one. A background thread prepares batches ahead of the training step.
        `shard` = (index, count) yields only this process's part of every batch (`epoch_batches`).
        """
        images, labels = self.arrays()
        batches = epoch_batches(
            images,
            labels,
            first_epoch,
            self.seed,
            self.batch_size,
            self.drop_remainder,
            self.shuffle,
            self.labels,
            shard,
        )
        return prefetch(batches)


HALVES_SEED = 0  # the split of a one-split dataset into two halves is the same in every run


def subset_indices(total, subset, seed, half=None):
    """Pick `subset` of `total` example indices, seeded, in ascending order.

    Args:
        total: examples in the split.
        subset: how many to keep; all when None.
        seed: seed of the choice.
        half: None, or 0 or 1 to choose within one of the split's two disjoint halves (a fixed seeded shuffle
            cut in the middle, the same whatever `seed`).

    Returns:
        Ascending int64 indices.
    """
    pool = np.arange(total)
    if half is not None:
        order = np.random.default_rng(HALVES_SEED).permutation(total)
        pool = np.sort(order[: total // 2] if half == 0 else order[total // 2 :])
    if subset is None:
        return pool
    if subset < 1:
        raise UserError("--subset must be a positive number of examples")
    if subset > len(pool):
        raise UserError(f"--subset {subset} is larger than the data ({len(pool)} examples)")
    return pool[np.sort(np.random.default_rng(seed).choice(len(pool), subset, replace=False))]


def fit_arrays(images, image_size, channels):
    """uint8 (N, H, W, c) -> uint8 (N, S, S, channels): channel conversion, then resize (H and W equal).

    Args:
        images: uint8 array of square images.
        image_size: output side.
        channels: 1 or 3.

    Returns:
        uint8 array (N, image_size, image_size, channels).
    """
    if channels == 1 and images.shape[-1] == 3:
        gray = images.astype(np.float32) @ np.array([0.2989, 0.5870, 0.1140], np.float32)
        images = np.clip(np.rint(gray), 0, 255).astype(np.uint8)[..., None]
    elif channels == 3 and images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    if images.shape[1] != image_size:
        interpolation = cv2.INTER_AREA if images.shape[1] > image_size else cv2.INTER_LINEAR
        resized = [cv2.resize(image, (image_size, image_size), interpolation=interpolation) for image in images]
        images = np.stack(resized).reshape(len(images), image_size, image_size, channels)
    return np.ascontiguousarray(images)


def _scale(image):
    import tensorflow as tf

    return tf.cast(image, tf.float32) / 127.5 - 1.0


def _idx_folder(data_dir, idx_dirs, split):
    """The folder whose IDX files hold `split`, or None to read tensorflow-datasets.

    A given `data_dir` is the only place looked at: IDX files there, else it is tensorflow-datasets' data_dir (a
    run never mixes it with the system-wide IDX folders). Without one, the system-wide folders come first.

    Raises:
        UserError: `data_dir` holds IDX files of other splits but not of `split`.
    """
    if data_dir is not None:
        if find_idx(data_dir, split) is not None:
            return Path(data_dir)
        others = [other for other in ("train", "test") if other != split and find_idx(data_dir, other) is not None]
        if others:
            raise UserError(f"{data_dir} holds IDX files of the {others[0]} split but none of the {split!r} split")
        return None
    return next((Path(folder) for folder in idx_dirs if find_idx(folder, split) is not None), None)


def load_dataset(
    name,
    image_size=None,
    channels=None,
    batch_size=128,
    data_dir=None,
    subset=None,
    seed=0,
    split="train",
    half=None,
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
        data_dir: IDX folder (mnist, fashion_mnist), image folder (folder), LSUN's LMDB folder (`lsun/...`:
            `bedroom_train_lmdb` or the folder holding it, see `utils.data.lmdb_source.lsun_folder`) or
            tensorflow-datasets data_dir.
        subset: keep this many examples, chosen with `seed`; all when None.
        seed: seed of the subset choice and of the shuffling.
        split: "train" or "test" (any tfds split string works for tfds datasets).
        half: None, or 0 or 1 for one of the split's two disjoint halves (`subset_indices`), the held-out data of
            a dataset with only a training split (`utils.data.registry.comparison_parts`).
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
    choose = functools.partial(subset_indices, subset=subset, seed=seed, half=half)
    if name == "folder":
        if data_dir is None:
            raise UserError("--dataset folder needs --data-dir DIR, the folder of images")
        images, skipped = load_folder(data_dir, image_size, channels)
        arrays, source = (images, np.full(len(images), -1, np.int64)), f"image folder {data_dir}"
    elif spec.idx_dirs and (folder := _idx_folder(data_dir, spec.idx_dirs, split)) is not None:
        images, label_array = load_idx(folder, split)
        if label_array is None:
            label_array = np.full(len(images), -1, np.int64)
        arrays, source = (images, label_array), f"IDX files in {folder}"
    elif name.startswith("lsun/") and data_dir and (folder := lsun_folder(name[5:], data_dir, split)) is not None:
        images, skipped = load_lmdb(folder, image_size, channels, choose)  # chooses before decoding
        arrays, source = (images, np.full(len(images), -1, np.int64)), f"LMDB in {folder} ({split})"
        choose = np.arange  # the chosen examples are all there is

    if arrays is not None:
        keep = choose(len(arrays[0]))
        total = len(keep)
        stored = (fit_arrays(arrays[0][keep], image_size, channels), arrays[1][keep])

        def read():
            return stored

        def examples():
            import tensorflow as tf

            return tf.data.Dataset.from_tensor_slices(stored)
    else:
        examples, total = split_examples(spec, split, data_dir, choose, image_size, channels)
        source = f"tensorflow-datasets {spec.tfds_name} ({split})"

        def read():
            return read_all(examples(), total)

    if half is not None:
        source += f", half {half}"

    if batch_size > total and drop_remainder:
        raise UserError(f"--batch-size {batch_size} is larger than the data ({total} examples)")

    def make_dataset():
        # Decode/resize once, cache the uint8 result, then shuffle and scale every time the dataset is iterated.
        import tensorflow as tf

        once = examples().cache()
        if shuffle:
            once = once.shuffle(min(total, SHUFFLE_BUFFER), seed=seed, reshuffle_each_iteration=True)
        once = once.batch(batch_size, drop_remainder=drop_remainder)
        if labels:
            once = once.map(lambda image, label: (_scale(image), label), tf.data.AUTOTUNE)
        else:
            once = once.map(lambda image, label: _scale(image), tf.data.AUTOTUNE)
        return once.prefetch(tf.data.AUTOTUNE)

    steps = total // batch_size if drop_remainder else math.ceil(total / batch_size)
    return Data(
        total,
        image_size,
        channels,
        source,
        skipped,
        steps,
        batch_size,
        seed,
        shuffle,
        drop_remainder,
        labels,
        read,
        make_dataset,
    )
