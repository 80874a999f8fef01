"""The design card's helpers: latent sampler, true and fake sample generators, the combined GAN model."""

import keras
import numpy as np


def sample_latent(n, latent_dim, seed=0):
    """Draw `n` latent vectors from N(0, 1), reproducibly.

    Returns:
        (n, latent_dim) float32 array.
    """
    return np.random.default_rng(seed).standard_normal((n, latent_dim)).astype(np.float32)


def true_samples(dataset, n):
    """Take `n` real images from a pipeline of batches, labelled 1 (real).

    Args:
        dataset: a `tf.data.Dataset` of image batches (or (images, labels) batches).
        n: how many.

    Returns:
        (images (n, S, S, C) float32 in [-1, 1], labels (n, 1) ones).
    """
    images, count = [], 0
    for batch in dataset:
        batch = np.asarray(batch[0] if isinstance(batch, tuple) else batch)
        images.append(batch[: n - count])
        count += len(images[-1])
        if count >= n:
            break
    images = np.concatenate(images)
    return images, np.ones((len(images), 1), np.float32)


def fake_samples(generator, n, seed=0, batch_size=256):
    """Generate `n` images with `generator`, labelled 0 (fake).

    Returns:
        (images (n, S, S, C) float32 in [-1, 1], labels (n, 1) zeros).
    """
    z = sample_latent(n, generator.input_shape[-1], seed)
    images = np.concatenate(
        [np.asarray(generator(z[i : i + batch_size], training=False)) for i in range(0, n, batch_size)]
    )
    return images, np.zeros((n, 1), np.float32)


def save_samples(generator, path, n=64, seed=0, z=None, columns=None):
    """Draw images with `generator` and write them as one PNG grid (what `dcgan.py sample` writes).

    Args:
        generator: a model mapping (batch, latent_dim) to images in [-1, 1].
        path: the PNG to write.
        n: number of images, from noise seeded with `seed` (ignored when `z` is given).
        seed: seed of the noise.
        z: (N, latent_dim) latent vectors to draw instead of random noise.
        columns: images per row; a square grid when None.

    Returns:
        The number of images drawn.
    """
    from utils.images import save_grid

    if z is None:
        z = sample_latent(n, generator.input_shape[-1], seed)
    save_grid(np.asarray(generator.predict(np.asarray(z, np.float32), verbose=0)), path, columns)
    return len(z)


def build_gan(generator, discriminator):
    """The combined model z -> D(G(z)) logit, as a plain `keras.Sequential` (for inspection and summaries).

    Train with `utils.training.backends.DCGAN`, not by freezing D inside this model: in Keras 3 that recipe never
    updates D, because trainable variables are captured when a model is first trained.
    """
    return keras.Sequential([generator, discriminator], name="gan")
