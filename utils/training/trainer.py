"""What the trainer is on every backend: G, D, one optimizer each, the noise source and the loss trackers.

The backend-specific half (how gradients are taken) lives in `utils/training/backends/`, whose `__init__.py` picks it.
"""

import keras
from keras import ops


class DCGANBase(keras.Model):
    """Trains a generator against a discriminator with `fit()`.

    Unlike the classic "freeze D inside a combined model" recipe, which in Keras 3 silently never trains
    D, each step computes gradients for one network and applies them with that network's optimizer.
    Subclasses in `utils/training/backends/` provide `d_step` and `g_step` (TensorFlow, PyTorch) or a whole
    stateless `train_step` (JAX).

    Args:
        generator: a model mapping (batch, latent_dim) to images in [-1, 1].
        discriminator: a model mapping images to one logit.
        seed: seed of the model-owned noise generator.
        reuse_fakes: the G step trains on the D step's generated batch, as the PyTorch reference DCGAN does
            (one G forward pass per step instead of two); by default it draws fresh noise, as the paper's
            algorithm does.
    """

    def __init__(self, generator, discriminator, seed=0, reuse_fakes=False, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.reuse_fakes = reuse_fakes
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
            d_optimizer: updates D (a `keras.optimizers.LossScaleOptimizer` for mixed_float16).
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

    def real_images(self, data):
        """The images of a batch as float32 in [-1, 1]: labels are dropped, uint8 pixels are scaled here.

        The input pipeline sends uint8 (a quarter of the bytes of float32 to the device); scaling on the
        device fuses into D's first convolution.
        """
        images = data[0] if isinstance(data, (tuple, list)) else data
        if keras.backend.standardize_dtype(images.dtype) == "uint8":
            images = ops.cast(images, "float32") / 127.5 - 1.0
        return images

    def track(self, d_loss, g_loss, d_real, d_fake):
        """Update the running means shown by the progress bar, history.csv and TensorBoard."""
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.d_real_tracker.update_state(d_real)
        self.d_fake_tracker.update_state(d_fake)
        return {metric.name: metric.result() for metric in self.metrics}

    def train_step(self, data):
        real_images = self.real_images(data)
        batch_size = ops.shape(real_images)[0]
        # 1. Generate once for both updates (reuse_fakes), else let each update draw its own noise.
        fakes = self.generate(batch_size) if self.reuse_fakes else None
        # 2. Update D: real images -> 1, generated images -> 0.
        d_loss, d_real, d_fake = self.d_step(real_images, fakes)
        # 3. Update G: make the updated D call generated images real.
        g_loss = self.g_step(batch_size, fakes)
        # 4. Track running means.
        return self.track(d_loss, g_loss, d_real, d_fake)
