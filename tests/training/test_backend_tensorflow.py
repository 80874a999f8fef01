"""TensorFlow's trainer module: how a generator of batches reaches `fit`."""

import importlib.util

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None, reason="needs tensorflow")


def numbered_batches(count):
    for i in range(count):
        yield np.full((2, 3, 3, 1), i, np.uint8), np.full((2,), i, np.int64)


def test_without_autotuning_keeps_every_batch_in_order_with_autotuning_off():
    from utils.training.backends.tensorflow import without_autotuning

    dataset = without_autotuning(numbered_batches(5))

    assert dataset.options().autotune.enabled is False
    items = list(dataset.as_numpy_iterator())
    assert [(int(images[0, 0, 0, 0]), int(labels[1])) for images, labels in items] == [(i, i) for i in range(5)]
    assert items[0][0].dtype == np.uint8 and items[0][0].shape == (2, 3, 3, 1)


def test_without_autotuning_leaves_an_empty_iterator_as_it_is():
    from utils.training.backends.tensorflow import without_autotuning

    empty = numbered_batches(0)
    assert without_autotuning(empty) is empty


def test_train_on_batch_takes_one_step_whatever_the_steps_per_call(tiny_model):
    """The toolkit's train function runs a Python iterator's batches (as `train_on_batch` passes) one by one."""
    import keras

    from utils.training.train import build_trainer

    images = np.random.default_rng(0).integers(0, 256, (8, 28, 28, 1), dtype=np.uint8)
    logs = []
    for steps in (1, 2):
        keras.utils.set_random_seed(0)
        gan = build_trainer(tiny_model, steps_per_execution=steps)
        logs.append(gan.train_on_batch(images, return_dict=True))
        assert int(gan.d_optimizer.iterations.numpy()) == 1 and int(gan.g_optimizer.iterations.numpy()) == 1
    assert logs[0] == pytest.approx(logs[1], rel=1e-6)


@pytest.mark.parametrize("xla", ["auto", "off"])
def test_data_that_ends_inside_a_call_stops_fit_as_keras_does(tiny_model, monkeypatch, xla):
    """Three batches for calls of two steps: the first call takes two, the second ends fit with Keras's warning.

    Without XLA the optimizers' step counters once counted a step whose batch never came.
    """
    from utils.training.train import build_trainer

    monkeypatch.setenv("DCGAN_XLA", xla)
    gan = build_trainer(tiny_model, steps_per_execution=2)
    batches = (np.full((4, 28, 28, 1), i, np.uint8) for i in range(3))
    with pytest.warns(UserWarning, match="ran out of data"):
        gan.fit(batches, steps_per_epoch=4, epochs=1, verbose=0)
    assert int(gan.d_optimizer.iterations.numpy()) == 3, "the third batch trains before the data ends"


@pytest.mark.parametrize(("setting", "expected"), [("auto", True), ("off", False)])
def test_the_step_is_compiled_with_xla_on_a_cpu_unless_turned_off(monkeypatch, tiny_model, setting, expected):
    from utils.training.train import build_trainer

    monkeypatch.setenv("DCGAN_XLA", setting)
    assert build_trainer(tiny_model).jit_compile is expected
