"""The training stream: every epoch a permutation fixed by (seed, epoch), whatever epoch the stream starts at."""

import gzip

import numpy as np
import pytest
import tensorflow as tf

from utils.data import load_dataset
from utils.epochs import epoch_order, epoch_stream, read_all

TOTAL, BATCH = 10, 3


def stored():
    images = tf.constant(np.arange(TOTAL, dtype=np.uint8).reshape(TOTAL, 1, 1, 1))
    return images, tf.constant(np.arange(TOTAL, dtype=np.int64) * 10)


def take_epochs(stream, epochs, steps):
    """Label batches of `epochs` epochs as lists of lists."""
    batches = [labels.numpy().tolist() for _, labels in stream.take(epochs * steps)]
    return [batches[i * steps : (i + 1) * steps] for i in range(epochs)]


def test_epoch_order_is_a_permutation_fixed_by_seed_and_epoch():
    orders = {(seed, epoch): epoch_order(TOTAL, seed, epoch).numpy().tolist() for seed in (0, 1) for epoch in range(3)}
    for order in orders.values():
        assert sorted(order) == list(range(TOTAL))
    assert len({tuple(order) for order in orders.values()}) == len(orders), "epochs and seeds must differ"
    assert epoch_order(TOTAL, 1, 2).numpy().tolist() == orders[(1, 2)]
    assert epoch_order(TOTAL, 1, tf.constant(2, tf.int64)).numpy().tolist() == orders[(1, 2)]


@pytest.mark.parametrize("drop_remainder", [True, False])
def test_stream_started_later_replays_the_same_epochs(drop_remainder):
    steps = TOTAL // BATCH if drop_remainder else -(-TOTAL // BATCH)
    straight = take_epochs(epoch_stream(*stored(), 0, 5, BATCH, drop_remainder), 4, steps)
    resumed = take_epochs(epoch_stream(*stored(), 2, 5, BATCH, drop_remainder), 2, steps)

    assert resumed == straight[2:]
    for epoch in straight:  # no batch spans two epochs; each epoch sees every example at most once
        seen = [label for batch in epoch for label in batch]
        assert len(seen) == len(set(seen)) == (9 if drop_remainder else TOTAL)
        assert all(len(batch) == BATCH for batch in epoch[: TOTAL // BATCH])
    assert straight[0] != straight[1]


def test_unshuffled_stream_keeps_the_stored_order():
    epochs = take_epochs(epoch_stream(*stored(), 3, 0, 5, shuffle=False), 2, 2)
    assert epochs == [[[0, 10, 20, 30, 40], [50, 60, 70, 80, 90]]] * 2


def test_read_all_keeps_every_example_in_order():
    images = np.random.default_rng(0).integers(0, 256, (2500, 2, 2, 1), dtype=np.uint8)
    labels = np.arange(2500, dtype=np.int64)
    dataset = tf.data.Dataset.from_tensor_slices((images, labels))

    got_images, got_labels = read_all(dataset, 2500)

    np.testing.assert_array_equal(got_images.numpy(), images)
    np.testing.assert_array_equal(got_labels.numpy(), labels)


def test_data_epochs_from_idx_files(tmp_path):
    images = np.arange(12 * 28 * 28, dtype=np.uint64).reshape(12, 28, 28).astype(np.uint8)
    header = bytes([0, 0, 8, 3]) + b"".join(int(n).to_bytes(4, "big") for n in images.shape)
    with gzip.open(tmp_path / "train-images-idx3-ubyte.gz", "wb") as handle:
        handle.write(header + images.tobytes())
    data = load_dataset("mnist", data_dir=tmp_path, batch_size=4, seed=3)

    assert data.steps_per_epoch == 3
    first = [batch.numpy() for batch in data.epochs(0).take(6)]
    again = [batch.numpy() for batch in data.epochs(1).take(3)]

    for a, b in zip(first[3:], again, strict=True):
        np.testing.assert_array_equal(a, b)
    epoch = np.concatenate(first[:3])
    assert epoch.shape == (12, 28, 28, 1) and epoch.min() >= -1 and epoch.max() <= 1
    # One epoch holds every image exactly once.
    pixels = np.rint((epoch + 1) * 127.5).astype(np.uint8)
    assert sorted(image.tobytes() for image in pixels) == sorted(image.tobytes() for image in images[..., None])
