"""The design card's helpers: latent sampler, true and fake samples, and the combined GAN model."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from utils.training.models import build_discriminator, build_generator
from utils.training.samples import build_gan, fake_samples, sample_latent, save_samples, true_samples


def test_sample_latent_shape_dtype_and_seed():
    z = sample_latent(16, 8, seed=3)
    assert z.shape == (16, 8)
    assert z.dtype == np.float32
    np.testing.assert_array_equal(z, sample_latent(16, 8, seed=3))
    assert not np.allclose(z, sample_latent(16, 8, seed=4))


def test_sample_latent_is_standard_normal():
    z = sample_latent(20_000, 10, seed=0)
    assert abs(z.mean()) < 0.02
    assert z.std() == pytest.approx(1.0, abs=0.02)
    assert np.abs(z).max() > 3  # a real Gaussian tail, not a uniform draw
    np.testing.assert_array_equal(sample_latent(3, 5), sample_latent(3, 5, seed=0))


def image_batches(count, batch, labels=False):
    images = np.linspace(-1, 1, count * 4 * 4, dtype=np.float32).reshape(count, 4, 4, 1)
    if labels:
        return tf.data.Dataset.from_tensor_slices((images, np.arange(count))).batch(batch), images
    return tf.data.Dataset.from_tensor_slices(images).batch(batch), images


@pytest.mark.parametrize("labels", [False, True])
def test_true_samples(labels):
    dataset, images = image_batches(20, 6, labels)
    taken, targets = true_samples(dataset, 10)
    assert taken.shape == (10, 4, 4, 1)
    assert taken.dtype == np.float32
    np.testing.assert_array_equal(taken, images[:10])
    assert targets.shape == (10, 1)
    np.testing.assert_array_equal(targets, np.ones((10, 1), np.float32))


def test_true_samples_exact_batches_and_short_data():
    dataset, images = image_batches(12, 4)
    taken, targets = true_samples(dataset, 8)
    np.testing.assert_array_equal(taken, images[:8])
    taken, targets = true_samples(dataset, 50)  # fewer than asked: all there is
    assert len(taken) == len(targets) == 12
    taken, _ = true_samples(dataset, 1)
    assert taken.shape == (1, 4, 4, 1)


@pytest.fixture
def generator(tiny_model):
    return build_generator(tiny_model)


@pytest.mark.parametrize(("count", "batch_size"), [(5, 2), (7, 256), (4, 4)])
def test_fake_samples(generator, tiny_model, count, batch_size):
    images, targets = fake_samples(generator, count, seed=2, batch_size=batch_size)
    assert images.shape == (count, 28, 28, 1)
    assert images.dtype == np.float32
    assert images.min() >= -1.0 and images.max() <= 1.0
    assert targets.shape == (count, 1)
    np.testing.assert_array_equal(targets, np.zeros((count, 1), np.float32))
    # The images are G of the seeded latent vectors, whatever the batching.
    expected = np.asarray(generator(sample_latent(count, tiny_model.latent_dim, 2), training=False))
    np.testing.assert_allclose(images, expected, atol=1e-6)
    assert not np.allclose(images[0], images[1])


def test_fake_samples_are_seeded(generator):
    first, _ = fake_samples(generator, 3, seed=1)
    np.testing.assert_array_equal(first, fake_samples(generator, 3, seed=1)[0])
    assert not np.allclose(first, fake_samples(generator, 3, seed=9)[0])


def test_build_gan(tiny_model):
    generator, discriminator = build_generator(tiny_model), build_discriminator(tiny_model)
    gan = build_gan(generator, discriminator)
    assert isinstance(gan, keras.Sequential)
    assert gan.input_shape == (None, tiny_model.latent_dim)
    assert gan.output_shape == (None, 1)
    z = sample_latent(3, tiny_model.latent_dim, seed=0)
    logits = np.asarray(gan(z, training=False))
    assert logits.shape == (3, 1)
    expected = np.asarray(discriminator(generator(z, training=False), training=False))
    np.testing.assert_allclose(logits, expected, atol=1e-6)
    # The combined model shares G's and D's weights rather than copying them.
    assert len(gan.weights) == len(generator.weights) + len(discriminator.weights)
    assert gan.layers[0] is generator and gan.layers[1] is discriminator


def test_save_samples_draws_a_seeded_grid_or_the_given_noise(generator, tmp_path):
    from PIL import Image

    assert save_samples(generator, tmp_path / "a.png", n=6, seed=3, columns=3) == 6
    assert save_samples(generator, tmp_path / "b.png", z=sample_latent(6, generator.input_shape[-1], 3), columns=3) == 6
    first, again = (np.asarray(Image.open(tmp_path / name)) for name in ("a.png", "b.png"))
    assert first.shape[:2] == (2 * 28 + 3 * 2, 3 * 28 + 4 * 2)  # 2 rows, 3 columns, 2-pixel padding
    np.testing.assert_array_equal(first, again)
    save_samples(generator, tmp_path / "c.png", n=6, seed=4, columns=3)
    assert not np.array_equal(first, np.asarray(Image.open(tmp_path / "c.png")))
