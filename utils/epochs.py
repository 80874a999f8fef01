"""The training stream: epoch after epoch of batches, each epoch's order fixed by the seed and its number alone.

A resumed run must see the same batches as a run that was never interrupted. A `tf.data` shuffle buffer
cannot give that: its order depends on how many epochs this process has already run. Here the decoded
examples are held in one uint8 tensor (what an in-memory cache holds anyway) and each epoch is a
stateless permutation of their indices, seeded with (seed, epoch).
"""

import numpy as np
import tensorflow as tf

LAST_EPOCH = 2**31  # the stream ends here: for practical purposes, never
DECODE_BATCH = 1024  # examples decoded per step while the data is read into memory


def read_all(examples, total):
    """Run a dataset of (uint8 image, int64 label) pairs once and keep every example in memory.

    Args:
        examples: the decoded, resized, unbatched examples (not cached: the arrays are the cache).
        total: how many examples it yields.

    Returns:
        (images (total, S, S, C) uint8 tensor, labels (total,) int64 tensor).
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
    return tf.constant(images), tf.constant(labels)


def epoch_order(total, seed, epoch):
    """The example indices of one epoch, in training order: a permutation seeded by (seed, epoch) only.

    Args:
        total: number of examples.
        seed: the run's seed (any Python integer).
        epoch: the 0-based epoch number (an int64 tensor or an integer).

    Returns:
        (total,) int64 tensor.
    """
    seeds = tf.stack([tf.constant(seed % 2**63, tf.int64), tf.cast(epoch, tf.int64)])
    return tf.random.experimental.stateless_shuffle(tf.range(total, dtype=tf.int64), seed=seeds)


def epoch_stream(images, labels, first_epoch, seed, batch_size, drop_remainder=True, shuffle=True):
    """Endless batches of (images, labels), epoch `first_epoch` first; no batch spans two epochs.

    Args:
        images: (N, S, S, C) uint8 tensor, from `read_all`.
        labels: (N,) int64 tensor.
        first_epoch: the 0-based number of the first epoch to yield.
        seed: the run's seed.
        batch_size: examples per batch.
        drop_remainder: leave out each epoch's last incomplete batch.
        shuffle: permute every epoch; else keep the stored order.

    Returns:
        A `tf.data.Dataset` of (uint8 images, int64 labels) batches.
    """
    total = int(images.shape[0])

    def one_epoch(epoch):
        order = epoch_order(total, seed, epoch) if shuffle else tf.range(total, dtype=tf.int64)
        return tf.data.Dataset.from_tensor_slices(order).batch(batch_size, drop_remainder=drop_remainder)

    indices = tf.data.Dataset.range(first_epoch, LAST_EPOCH).flat_map(one_epoch)
    return indices.map(lambda index: (tf.gather(images, index), tf.gather(labels, index)))
