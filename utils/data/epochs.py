"""The training stream: epoch after epoch of batches, each epoch's order fixed by the seed and its number alone.

A resumed run must see the same batches as a run that was never interrupted. A `tf.data` shuffle buffer
cannot give that: its order depends on how many epochs this process has already run. Here the decoded
examples are held in one uint8 array (what an in-memory cache holds anyway) and each epoch is a
permutation of their indices seeded with (seed, epoch). Plain NumPy: the stream works on every Keras
backend, also where TensorFlow is not installed.
"""

import itertools
import queue
import threading

import numpy as np

PREFETCH = 4  # batches prepared ahead of the training step by a background thread


def epoch_order(total, seed, epoch):
    """The example indices of one epoch, in training order: a permutation seeded by (seed, epoch) only.

    Args:
        total: number of examples.
        seed: the run's seed (any Python integer).
        epoch: the 0-based epoch number.

    Returns:
        (total,) int64 array.
    """
    return np.random.default_rng([seed % 2**64, int(epoch)]).permutation(total)


def steps_per_call(requested, steps_per_epoch):
    """How many steps one call of the compiled step may run: the most, up to `requested`, that divide an epoch.

    Keras' `fit` runs `steps_per_execution` steps per call even past an epoch's end, into the next epoch's
    batches, which would break the fixed per-epoch order that resumes replay. A divisor of the epoch never does.

    Args:
        requested: the wanted steps per call (at least 1).
        steps_per_epoch: the steps of one epoch.

    Returns:
        The largest divisor of `steps_per_epoch` that is at most `requested` (1 when there is no other).
    """
    return max(steps for steps in range(1, min(requested, steps_per_epoch) + 1) if steps_per_epoch % steps == 0)


def epoch_batches(
    images, labels, first_epoch, seed, batch_size, drop_remainder=True, shuffle=True, with_labels=False, shard=(0, 1)
):
    """Endless batches, epoch `first_epoch` first; no batch spans two epochs.

    Args:
        images: (N, S, S, C) uint8 array.
        labels: (N,) int64 array.
        first_epoch: the 0-based number of the first epoch to yield.
        seed: the run's seed.
        batch_size: examples per batch.
        drop_remainder: leave out each epoch's last incomplete batch.
        shuffle: permute every epoch; else keep the stored order.
        with_labels: yield (images, labels) instead of (images,).
        shard: (index, count): yield only part `index` of `count` equal consecutive parts of every batch, for
            one of `count` processes that together train on the whole batch; `batch_size` must divide by `count`.

    Yields:
        (uint8 images (B, S, S, C),) tuples (Keras' `fit` takes tuples from generators), or (images, int64 labels).
    """
    total = len(images)
    stop = total - total % batch_size if drop_remainder else total
    part, parts = shard
    size = batch_size // parts
    for epoch in itertools.count(first_epoch):
        order = epoch_order(total, seed, epoch) if shuffle else np.arange(total)
        for start in range(0, stop, batch_size):
            index = order[start : start + batch_size][part * size : (part + 1) * size]
            yield (images[index], labels[index]) if with_labels else (images[index],)


def prefetch(batches, size=PREFETCH):
    """Iterate `batches` in a background thread, `size` items ahead, in the same order.

    Args:
        batches: any iterator (an error raised by it is raised again here).
        size: items held ready.

    Yields:
        The items of `batches`.
    """
    ready = queue.Queue(size)
    done = object()
    stop = threading.Event()

    def produce():
        try:
            for item in batches:
                while not stop.is_set():
                    try:
                        ready.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            ready.put(done)
        except BaseException as exc:  # handed to the consumer, which raises it
            ready.put(exc)

    worker = threading.Thread(target=produce, daemon=True, name="prefetch")
    worker.start()
    try:
        while (item := ready.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
