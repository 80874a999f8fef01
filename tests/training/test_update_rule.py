"""The update rule on every backend: each optimizer moves its own network, noise is fresh every step, BatchNorm
normalises by the batch while training, and D sees real images in [-1, 1].

Each test fails under one of the ways a GAN step goes quietly wrong while its losses stay finite.
"""

import keras
import numpy as np
import pytest

from utils.images import to_unit_range
from utils.training.train import build_trainer

pytestmark = pytest.mark.backends  # make test runs this file on every Keras backend
BATCH = 16


def numpy(variables):
    return [np.array(keras.ops.convert_to_numpy(variable)) for variable in variables]


def moved(before, variables):
    return [not np.array_equal(old, new) for old, new in zip(before, numpy(variables), strict=True)]


def images(seed=0, count=BATCH):
    return np.random.default_rng(seed).integers(0, 256, (count, 28, 28, 1), dtype=np.uint8)


def trainer(model, d_rate, g_rate):
    """A compiled trainer whose D and G learn at their own rates (0: that network must not move)."""
    keras.utils.set_random_seed(0)
    gan = build_trainer(model)
    gan.compile(d_optimizer=keras.optimizers.Adam(d_rate, beta_1=0.5), g_optimizer=keras.optimizers.Adam(g_rate))
    return gan


@pytest.mark.parametrize(("d_rate", "g_rate"), [(1e-3, 0.0), (0.0, 1e-3)])
def test_each_optimizer_moves_only_its_own_network(tiny_model, d_rate, g_rate):
    gan = trainer(tiny_model, d_rate, g_rate)
    d_before, g_before = numpy(gan.discriminator.trainable_variables), numpy(gan.generator.trainable_variables)
    gan.train_on_batch(images())
    d_moved, g_moved = (
        moved(d_before, gan.discriminator.trainable_variables),
        moved(g_before, gan.generator.trainable_variables),
    )
    assert all(d_moved) if d_rate else not any(d_moved), "D's weights move with D's optimizer alone"
    assert all(g_moved) if g_rate else not any(g_moved), "G's weights move with G's optimizer alone"


def test_every_step_draws_new_noise(tiny_model):
    """With nothing learning and the same real batch, only the noise can change the losses between steps."""
    gan = trainer(tiny_model, 0.0, 0.0)
    batch = images()
    first, second = gan.train_on_batch(batch, return_dict=True), gan.train_on_batch(batch, return_dict=True)
    assert first["d_real"] == pytest.approx(second["d_real"], rel=1e-5), "same weights, same real batch"
    assert first["d_fake"] != pytest.approx(second["d_fake"], rel=1e-4)


def test_batchnorm_uses_the_batch_while_training(tiny_model):
    """D scores real images with batch statistics (as in training) and both networks update their moving ones."""
    gan = trainer(tiny_model, 0.0, 0.0)
    batch = images(seed=1)
    real = to_unit_range(batch)
    training = float(keras.ops.mean(keras.ops.sigmoid(gan.discriminator(real, training=True))))
    inference = float(keras.ops.mean(keras.ops.sigmoid(gan.discriminator(real, training=False))))
    assert abs(training - inference) > 1e-3, "the test needs batch statistics that differ from the moving ones"
    moving = {
        name: [v for v in model.non_trainable_variables if "moving" in v.path]
        for name, model in (("G", gan.generator), ("D", gan.discriminator))
    }
    before = {name: numpy(variables) for name, variables in moving.items()}
    logs = gan.train_on_batch(batch, return_dict=True)
    assert logs["d_real"] == pytest.approx(training, rel=1e-4), "D(x) in the step is D's training-mode output"
    for name, variables in moving.items():
        assert variables and all(moved(before[name], variables)), f"{name}'s BatchNorm moving statistics update"


def test_real_images_reach_d_in_the_generators_range(tiny_model):
    gan = trainer(tiny_model, 0.0, 0.0)
    pixels = np.array([0, 1, 127, 128, 254, 255], np.uint8).reshape(1, 1, 6, 1)
    scaled = keras.ops.convert_to_numpy(gan.real_images(keras.ops.convert_to_tensor(pixels)))
    np.testing.assert_allclose(scaled.ravel(), pixels.ravel() / 127.5 - 1.0, atol=1e-6)
    assert scaled.min() == -1.0 and scaled.max() == 1.0
