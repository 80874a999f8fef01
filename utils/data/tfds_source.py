"""tensorflow-datasets sources: open a split, keep the chosen examples, fit every image, read all into memory."""

import contextlib
import functools
import logging

import numpy as np

from utils.errors import UserError

DECODE_BATCH = 1024  # examples decoded per step while a tensorflow-datasets source is read into memory


def split_examples(spec, split, data_dir, choose, image_size, channels):
    """The kept examples of a tensorflow-datasets split, each image fitted to the run's size and channels.

    Args:
        spec: the dataset's `DatasetSpec` (its `tfds_name` and `crop`).
        split, data_dir: as `tfds.load` takes them.
        choose: the split's number of examples -> the ascending indices of those to keep.
        image_size, channels: the images' side and channels.

    Returns:
        (examples, total): a function that builds a `tf.data.Dataset` of (uint8 image, int64 label or -1) of
        the kept examples in the split's order, and their number.
    """
    encoded, full, decode = open_split(spec.tfds_name, split, data_dir)
    keep = choose(full)

    def examples():
        import tensorflow as tf

        dataset = encoded
        if len(keep) < full:  # choose the examples before decoding any image
            mask = np.zeros(full, bool)
            mask[keep] = True
            mask = tf.constant(mask)
            dataset = dataset.enumerate().filter(lambda index, _: tf.gather(mask, index)).map(lambda _, ex: ex)
        fit = functools.partial(fit_image, image_size=image_size, channels=channels, crop=spec.crop)
        return dataset.map(lambda image, label: (fit(decode(image)), label), tf.data.AUTOTUNE)

    return examples, len(keep)


def open_split(tfds_name, split, data_dir):
    """Open a tensorflow-datasets split as encoded examples, and the function that decodes one image.

    Reading the encoded images first lets a subset choose its examples before any image is decoded.

    Returns:
        (dataset of (encoded image, label or -1), number of examples, decode: encoded image -> uint8 image).

    Raises:
        UserError: the dataset cannot be built, prepared or read; the message is tfds's own, on one line.
    """
    import tensorflow as tf
    import tensorflow_datasets as tfds

    try:
        builder = tfds.builder(tfds_name, data_dir=data_dir)
        if not builder.is_prepared():
            with _few_retries():
                builder.download_and_prepare()
        dataset = builder.as_dataset(split=split, shuffle_files=False, decoders={"image": tfds.decode.SkipDecoding()})
    except Exception as exc:  # tfds raises many types (download, missing manual data, bad split)
        raise UserError(_load_error(tfds_name, split, data_dir, exc)) from None
    total = int(dataset.cardinality())
    if total < 0:
        total = int(dataset.reduce(0, lambda count, _: count + 1))
    has_label = "label" in dataset.element_spec and dataset.element_spec["label"].dtype.is_integer
    dataset = dataset.map(lambda ex: (ex["image"], ex["label"] if has_label else tf.constant(-1, tf.int64)))
    return dataset, total, builder.info.features["image"].decode_example


def _load_error(tfds_name, split, data_dir, exc):
    """One line: what failed, tfds's whole message, and after a failed download where local data can be given."""
    message = " ".join(str(exc).split()) or type(exc).__name__
    line = f"cannot load {tfds_name!r} ({split}) with tensorflow-datasets: {message}"
    if _is_download_error(exc):
        line += f"; without network, give the data locally: {LOCAL_DATA.get(tfds_name, LOCAL_DATA[None])}"
    return line.replace("{name}", tfds_name).replace("{data_dir}", str(data_dir or "DIR"))


LOCAL_DATA = {  # where a failed download's error points, per tfds name (None: every other dataset)
    "mnist": "--data-dir DIR holding MNIST's four IDX files (train-images-idx3-ubyte[.gz] and so on)",
    "fashion_mnist": "--data-dir DIR holding Fashion-MNIST's four IDX files, or Debian's package "
    "(apt-get install dataset-fashion-mnist), read from /usr/share/datasets/fashion-mnist",
    None: "prepare it where there is network (tfds build {name} --data_dir {data_dir}) and copy that folder here as "
    "--data-dir, or export the images to a folder and train with --dataset folder --data-dir FOLDER",
}


DOWNLOAD_RETRIES = 3  # tfds's 10 retries per file, with back-off, take about 3.5 minutes to fail without network


@contextlib.contextmanager
def _few_retries():
    """Download with `DOWNLOAD_RETRIES` retries per file and without urllib3's warning per retry."""
    # Private: tfds's retry count, checked against tensorflow-datasets 4.9.10 (tests/training/test_private_api.py).
    from tensorflow_datasets.core.download import downloader

    retries, level = downloader.MAX_RETRIES, logging.getLogger("urllib3").level
    downloader.MAX_RETRIES = DOWNLOAD_RETRIES
    logging.getLogger("urllib3").setLevel(logging.ERROR)
    try:
        yield
    finally:
        downloader.MAX_RETRIES = retries
        logging.getLogger("urllib3").setLevel(level)


def _is_download_error(exc):
    """Whether tfds failed while downloading (no network, host down), by the exception's type or module."""
    names = {cls.__module__ + "." + cls.__name__ for cls in type(exc).__mro__}
    words = ("download", "requests", "urllib", "socket", "ConnectionError")
    return any(word in name for name in names for word in words)


def fit_image(image, image_size, channels, crop):
    """uint8 (H, W, c) -> uint8 (S, S, channels): channel conversion, optional central crop, resize and crop."""
    import tensorflow as tf

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


def read_all(examples, total):
    """Run a dataset of (uint8 image, int64 label) pairs once and keep every example in memory.

    Returns:
        (images (total, S, S, C) uint8, labels (total,) int64) NumPy arrays.
    """
    images = labels = None
    count = 0
    for batch_images, batch_labels in examples.batch(DECODE_BATCH).as_numpy_iterator():
        if images is None:
            images = np.empty((total, *batch_images.shape[1:]), np.uint8)
            labels = np.empty((total,), np.int64)
        images[count : count + len(batch_images)] = batch_images
        labels[count : count + len(batch_labels)] = batch_labels
        count += len(batch_images)
    if count != total:
        raise RuntimeError(f"expected {total} examples, read {count}")
    return images, labels
