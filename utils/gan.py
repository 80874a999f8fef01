"""The trainer: a `keras.Model` holding G and D that updates each with its own optimizer."""

import keras
import tensorflow as tf
from keras import ops

from utils.losses import discriminator_loss, generator_loss


class DCGAN(keras.Model):
    """Trains a generator against a discriminator with `fit()`.

    Unlike the classic "freeze D inside a combined model" recipe, which in Keras 3 silently never trains
    D, each step here computes gradients for one network and applies them with that network's optimizer.

    Args:
        generator: a model mapping (batch, latent_dim) to images in [-1, 1].
        discriminator: a model mapping images to one logit.
        seed: seed of the model-owned noise generator.
    """

    def __init__(self, generator, discriminator, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = generator.input_shape[-1]
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_real_tracker = keras.metrics.Mean(name="d_real")
        self.d_fake_tracker = keras.metrics.Mean(name="d_fake")
        self.built = True  # G and D are built; stops fit() from trying to build the model on images.

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        """Attach one optimizer per network and build both now (their variables exist before training).

        Args:
            d_optimizer: updates D.
            g_optimizer: updates G.
        """
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        d_optimizer.build(self.discriminator.trainable_variables)
        g_optimizer.build(self.generator.trainable_variables)

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker, self.d_real_tracker, self.d_fake_tracker]

    def call(self, z, training=False):
        return self.generator(z, training=training)

    def sample_latent(self, batch_size):
        """Draw z ~ N(0, 1) from the model's own seed generator."""
        return keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)

    def d_step(self, real_images):
        """One update of D on a batch of real images and as many generated ones.

        Returns:
            (d_loss, mean D(x), mean D(G(z))).
        """
        fake_images = self.generator(self.sample_latent(ops.shape(real_images)[0]), training=True)
        with tf.GradientTape() as tape:
            real_logits = self.discriminator(real_images, training=True)
            fake_logits = self.discriminator(fake_images, training=True)
            d_loss = discriminator_loss(real_logits, fake_logits)
        gradients = tape.gradient(d_loss, self.discriminator.trainable_variables)
        self.d_optimizer.apply_gradients(zip(gradients, self.discriminator.trainable_variables, strict=True))
        return d_loss, ops.mean(ops.sigmoid(real_logits)), ops.mean(ops.sigmoid(fake_logits))

    def g_step(self, batch_size):
        """One update of G through the (fixed) current D.

        Returns:
            g_loss.
        """
        z = self.sample_latent(batch_size)
        with tf.GradientTape() as tape:
            g_loss = generator_loss(self.discriminator(self.generator(z, training=True), training=True))
        gradients = tape.gradient(g_loss, self.generator.trainable_variables)
        self.g_optimizer.apply_gradients(zip(gradients, self.generator.trainable_variables, strict=True))
        return g_loss

    def train_step(self, data):
        # Real images only: labels, if the pipeline carries them, are not used.
        real_images = data[0] if isinstance(data, tuple) else data
        # 1. Update D: real images -> 1, generated images -> 0.
        d_loss, d_real, d_fake = self.d_step(real_images)
        # 2. Update G: make the updated D call fresh generated images real.
        g_loss = self.g_step(ops.shape(real_images)[0])
        # 3. Track running means for the progress bar, history.csv and TensorBoard.
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.d_real_tracker.update_state(d_real)
        self.d_fake_tracker.update_state(d_fake)
        return {metric.name: metric.result() for metric in self.metrics}
