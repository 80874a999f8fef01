"""The training stream: every epoch a permutation fixed by (seed, epoch), whatever epoch the stream starts at."""

import gzip
import itertools
import threading

import numpy as np
import pytest

from utils.data.epochs import epoch_batches, epoch_order, prefetch, steps_per_call
from utils.data.load import load_dataset
from utils.data.tfds_source import read_all

TOTAL, BATCH = 10, 3


def stored():
    images = np.arange(TOTAL, dtype=np.uint8).reshape(TOTAL, 1, 1, 1)
    return images, np.arange(TOTAL, dtype=np.int64) * 10


def take_epochs(stream, epochs, steps):
    """Label batches of `epochs` epochs as lists of lists."""
    batches = [labels.tolist() for _, labels in itertools.islice(stream, epochs * steps)]
    return [batches[i * steps : (i + 1) * steps] for i in range(epochs)]


def test_epoch_order_is_a_permutation_fixed_by_seed_and_epoch():
    orders = {(seed, epoch): epoch_order(TOTAL, seed, epoch).tolist() for seed in (0, 1, -3) for epoch in range(3)}
    for order in orders.values():
        assert sorted(order) == list(range(TOTAL))
    assert len({tuple(order) for order in orders.values()}) == len(orders), "epochs and seeds must differ"
    assert epoch_order(TOTAL, 1, 2).tolist() == orders[(1, 2)]
    assert epoch_order(TOTAL, 1, np.int64(2)).tolist() == orders[(1, 2)]


@pytest.mark.parametrize("drop_remainder", [True, False])
def test_stream_started_later_replays_the_same_epochs(drop_remainder):
    steps = TOTAL // BATCH if drop_remainder else -(-TOTAL // BATCH)
    straight = take_epochs(epoch_batches(*stored(), 0, 5, BATCH, drop_remainder, with_labels=True), 4, steps)
    resumed = take_epochs(epoch_batches(*stored(), 2, 5, BATCH, drop_remainder, with_labels=True), 2, steps)

    assert resumed == straight[2:]
    for epoch in straight:  # no batch spans two epochs; each epoch sees every example at most once
        seen = [label for batch in epoch for label in batch]
        assert len(seen) == len(set(seen)) == (9 if drop_remainder else TOTAL)
        assert all(len(batch) == BATCH for batch in epoch[: TOTAL // BATCH])
    assert straight[0] != straight[1]


def test_unshuffled_stream_keeps_the_stored_order():
    epochs = take_epochs(epoch_batches(*stored(), 3, 0, 5, shuffle=False, with_labels=True), 2, 2)
    assert epochs == [[[0, 10, 20, 30, 40], [50, 60, 70, 80, 90]]] * 2


def test_images_only_batches_are_one_element_tuples():
    batch = next(epoch_batches(*stored(), 0, 0, 4))
    assert isinstance(batch, tuple) and len(batch) == 1 and batch[0].shape == (4, 1, 1, 1)
    assert batch[0].dtype == np.uint8


def test_prefetch_keeps_order_and_raises_the_producers_error():
    assert list(prefetch(iter(range(100)), size=3)) == list(range(100))

    def failing():
        yield 1
        raise ValueError("broken file")

    stream = prefetch(failing())
    assert next(stream) == 1
    with pytest.raises(ValueError, match="broken file"):
        next(stream)


def test_prefetch_thread_stops_when_the_consumer_stops():
    before = threading.active_count()
    stream = prefetch(itertools.count(), size=2)
    assert [next(stream) for _ in range(5)] == [0, 1, 2, 3, 4]
    stream.close()  # what happens when fit() drops the generator
    for _ in range(50):
        if threading.active_count() <= before:
            break
        threading.Event().wait(0.05)
    assert threading.active_count() <= before


def test_read_all_keeps_every_example_in_order():
    import tensorflow as tf

    images = np.random.default_rng(0).integers(0, 256, (2500, 2, 2, 1), dtype=np.uint8)
    labels = np.arange(2500, dtype=np.int64)
    dataset = tf.data.Dataset.from_tensor_slices((images, labels))

    got_images, got_labels = read_all(dataset, 2500)

    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)


def test_data_epochs_from_idx_files(tmp_path):
    images = np.arange(12 * 28 * 28, dtype=np.uint64).reshape(12, 28, 28).astype(np.uint8)
    header = bytes([0, 0, 8, 3]) + b"".join(int(n).to_bytes(4, "big") for n in images.shape)
    with gzip.open(tmp_path / "train-images-idx3-ubyte.gz", "wb") as handle:
        handle.write(header + images.tobytes())
    data = load_dataset("mnist", data_dir=tmp_path, batch_size=4, seed=3)

    assert data.steps_per_epoch == 3
    first = [batch for (batch,) in itertools.islice(data.epochs(0), 6)]
    again = [batch for (batch,) in itertools.islice(data.epochs(1), 3)]

    for a, b in zip(first[3:], again, strict=True):
        np.testing.assert_array_equal(a, b)
    epoch = np.concatenate(first[:3])
    assert epoch.shape == (12, 28, 28, 1) and epoch.dtype == np.uint8
    # One epoch holds every image exactly once.
    assert sorted(image.tobytes() for image in epoch) == sorted(image.tobytes() for image in images[..., None])


def test_the_shards_of_every_batch_make_up_that_batch():
    images, labels = stored()
    whole = itertools.islice(epoch_batches(images, labels, 1, 5, 4, with_labels=True), 6)
    shards = [
        itertools.islice(epoch_batches(images, labels, 1, 5, 4, with_labels=True, shard=(i, 2)), 6) for i in (0, 1)
    ]
    for (images_all, labels_all), (images_0, labels_0), (images_1, labels_1) in zip(whole, *shards, strict=True):
        assert len(labels_0) == len(labels_1) == 2
        np.testing.assert_array_equal(np.concatenate([labels_0, labels_1]), labels_all)
        np.testing.assert_array_equal(np.concatenate([images_0, images_1]), images_all)


@pytest.mark.parametrize(
    ("requested", "steps_per_epoch", "expected"),
    [(1, 468, 1), (3, 4, 2), (4, 4, 4), (8, 4, 4), (32, 468, 26), (8, 7, 7), (5, 13, 1), (100, 1, 1)],
)
def test_steps_per_call_divide_the_epoch(requested, steps_per_epoch, expected):
    assert steps_per_call(requested, steps_per_epoch) == expected
