"""The DCGAN trainer: each step updates only its own network, fit() trains both, and the helper models."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from utils.training.samples import build_gan
from utils.training.train import build_trainer

BATCH = 16


def snapshot(variables):
    """Numpy copies of `variables`, safe from later in-place updates."""
    return [np.array(keras.ops.convert_to_numpy(variable)) for variable in variables]


def changed(before, variables):
    """For each variable: whether it differs from its snapshot."""
    return [
        not np.array_equal(old, keras.ops.convert_to_numpy(new)) for old, new in zip(before, variables, strict=True)
    ]


def real_batch(size=BATCH, seed=0):
    """Random 'real' images in [-1, 1] of the tiny model's shape."""
    return np.random.default_rng(seed).uniform(-1.0, 1.0, (size, 28, 28, 1)).astype(np.float32)


@pytest.fixture
def gan(tiny_model):
    keras.utils.set_random_seed(0)
    return build_trainer(tiny_model)


def test_d_step_updates_only_the_discriminator(gan):
    g_before = snapshot(gan.generator.trainable_variables)
    d_before = snapshot(gan.discriminator.trainable_variables)

    d_loss, d_real, d_fake = gan.d_step(tf.constant(real_batch()))

    assert all(changed(d_before, gan.discriminator.trainable_variables)), "every D weight should move"
    assert not any(changed(g_before, gan.generator.trainable_variables)), "d_step must not touch G's weights"
    assert math.isfinite(float(d_loss))
    assert 0.0 <= float(d_real) <= 1.0 and 0.0 <= float(d_fake) <= 1.0
    assert int(gan.d_optimizer.iterations) == 1 and int(gan.g_optimizer.iterations) == 0


def test_g_step_updates_only_the_generator(gan):
    g_before = snapshot(gan.generator.trainable_variables)
    d_before = snapshot(gan.discriminator.trainable_variables)

    g_loss = gan.g_step(BATCH)

    assert all(changed(g_before, gan.generator.trainable_variables)), "every G weight should move"
    assert not any(changed(d_before, gan.discriminator.trainable_variables)), "g_step must not touch D's weights"
    assert math.isfinite(float(g_loss))
    assert int(gan.g_optimizer.iterations) == 1 and int(gan.d_optimizer.iterations) == 0


def test_one_epoch_of_fit_trains_both_networks(gan):
    images = real_batch(64, seed=1)
    dataset = tf.data.Dataset.from_tensor_slices(images).batch(BATCH)
    g_before = snapshot(gan.generator.trainable_variables)
    d_before = snapshot(gan.discriminator.trainable_variables)

    history = gan.fit(dataset, epochs=1, verbose=0, shuffle=False)

    assert all(changed(g_before, gan.generator.trainable_variables))
    assert all(changed(d_before, gan.discriminator.trainable_variables))
    logs = {key: values[-1] for key, values in history.history.items()}
    assert set(logs) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert all(math.isfinite(value) for value in logs.values()), logs
    assert 0.0 <= logs["d_real"] <= 1.0 and 0.0 <= logs["d_fake"] <= 1.0, logs
    # 64 images in batches of 16: four updates of each network.
    assert int(gan.d_optimizer.iterations) == 4 and int(gan.g_optimizer.iterations) == 4


def test_build_gan_maps_noise_to_one_logit_per_image(gan):
    combined = build_gan(gan.generator, gan.discriminator)
    z = np.random.default_rng(2).standard_normal((5, gan.latent_dim)).astype(np.float32)

    logits = np.asarray(combined(z, training=False))

    assert logits.shape == (5, 1)
    expected = np.asarray(gan.discriminator(gan.generator(z, training=False), training=False))
    np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-6)


def test_sample_latent_draws_fresh_noise_each_call(gan, tiny_model):
    first = np.asarray(gan.sample_latent(BATCH))
    second = np.asarray(gan.sample_latent(BATCH))

    assert first.shape == second.shape == (BATCH, tiny_model.latent_dim)
    assert np.all(np.isfinite(first))
    assert not np.allclose(first, second)


def test_train_step_ignores_labels(tiny_model):
    """A batch of (images, labels) trains exactly like the images alone."""
    gans = []
    for _ in range(2):
        keras.utils.set_random_seed(0)
        gans.append(build_trainer(tiny_model, seed=3))
    plain, labelled = gans
    for a, b in zip(plain.trainable_variables, labelled.trainable_variables, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    images = tf.constant(real_batch(seed=4))
    labels = tf.constant(np.arange(BATCH, dtype=np.int64) % 10)

    plain_logs = plain.train_step(images)
    labelled_logs = labelled.train_step((images, labels))

    assert set(labelled_logs) == {"d_loss", "g_loss", "d_real", "d_fake"}
    for key in plain_logs:
        assert math.isfinite(float(labelled_logs[key]))
        np.testing.assert_allclose(float(labelled_logs[key]), float(plain_logs[key]), rtol=1e-5)
    for a, b in zip(plain.trainable_variables, labelled.trainable_variables, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-7)
