"""TensorFlow's trainer module: how a generator of batches reaches `fit`."""

import importlib.util

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None, reason="needs tensorflow")


def numbered_batches(count):
    for i in range(count):
        yield np.full((2, 3, 3, 1), i, np.uint8), np.full((2,), i, np.int64)


def test_without_autotuning_keeps_every_batch_in_order_with_autotuning_off():
    from utils.steps.tensorflow import without_autotuning

    dataset = without_autotuning(numbered_batches(5))

    assert dataset.options().autotune.enabled is False
    items = list(dataset.as_numpy_iterator())
    assert [(int(images[0, 0, 0, 0]), int(labels[1])) for images, labels in items] == [(i, i) for i in range(5)]
    assert items[0][0].dtype == np.uint8 and items[0][0].shape == (2, 3, 3, 1)


def test_without_autotuning_leaves_an_empty_iterator_as_it_is():
    from utils.steps.tensorflow import without_autotuning

    empty = numbered_batches(0)
    assert without_autotuning(empty) is empty
