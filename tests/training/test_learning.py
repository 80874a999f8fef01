"""End to end: a small DCGAN learns a simple image distribution on the CPU, and a broken objective does not.

The data: dark 28x28 images holding one bright 10x10 square at a random place. The distance: FID between
generated and held-out real images in a 7x7 average-pooled pixel space (49 numbers per image). Training must bring
it far below the untrained generator's and below a run whose generator is trained to make D say "fake".
"""

import importlib

import keras
import numpy as np
import pytest

from utils.analysis.fid import fid
from utils.training.config import ModelConfig
from utils.training.samples import fake_samples
from utils.training.train import build_trainer

pytestmark = pytest.mark.backends  # make test runs this file on every Keras backend
MODEL = ModelConfig(image_size=28, channels=1, latent_dim=16, g_width=16, d_width=16, kernel_size=3)
STEPS, BATCH, SAMPLES = 240, 32, 512


def squares(count, seed):
    """`count` uint8 images (count, 28, 28, 1): black, with one white 10x10 square at a random place."""
    rng = np.random.default_rng(seed)
    images = np.zeros((count, 28, 28, 1), np.uint8)
    for image, (top, left) in zip(images, rng.integers(0, 19, (count, 2)), strict=True):
        image[top : top + 10, left : left + 10] = 255
    return images


def pooled(images):
    """7x7 average pooling of (N, 28, 28, 1) images in [-1, 1]: (N, 49)."""
    return images.reshape(len(images), 7, 4, 7, 4).mean(axis=(2, 4)).reshape(len(images), 49)


def distance(generator, real):
    return fid(pooled(fake_samples(generator, SAMPLES, seed=1)[0]), pooled(real / 127.5 - 1.0))


def train(monkeypatch=None):
    """Train a fresh DCGAN on the squares; with `monkeypatch`, G is trained to make D call its images fake."""
    if monkeypatch is not None:
        backend = importlib.import_module(f"utils.training.backends.{keras.backend.backend()}")
        from utils.training.losses import discriminator_loss

        # D's loss with no real images: G's target flipped to 0 (the mistake this test must catch).
        def flipped(fake_logits):
            return discriminator_loss(keras.ops.full_like(fake_logits, 30.0), fake_logits)

        monkeypatch.setattr(backend, "generator_loss", flipped)
    keras.utils.set_random_seed(0)
    gan = build_trainer(MODEL, learning_rate=1e-3)
    untrained = distance(gan.generator, squares(SAMPLES, seed=2))
    gan.fit(squares(STEPS * BATCH // 4, seed=0), batch_size=BATCH, epochs=6, shuffle=True, verbose=0)
    return untrained, distance(gan.generator, squares(SAMPLES, seed=2))


def test_training_brings_samples_closer_to_the_data_than_untrained_or_a_flipped_objective(monkeypatch):
    untrained, trained = train()
    _, flipped = train(monkeypatch)
    assert trained < 0.3 * untrained, f"trained {trained:.3f} against untrained {untrained:.3f}"
    assert trained < 0.3 * flipped, f"trained {trained:.3f} against G's target flipped {flipped:.3f}"
