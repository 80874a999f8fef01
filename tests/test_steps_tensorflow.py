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


def test_several_steps_per_call_are_refused_under_tf_distribute(tiny_model):
    """Keras's loop of several steps per call failed under MirroredStrategy; the run says so before training."""
    from utils.errors import UserError
    from utils.steps.tensorflow import data_parallel
    from utils.train import build_trainer

    with (
        data_parallel(),
        pytest.raises(UserError, match="--steps-per-execution with --data-parallel needs --backend jax"),
    ):
        build_trainer(tiny_model, steps_per_execution=2)
