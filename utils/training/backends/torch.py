"""PyTorch: gradients by autograd (`backward()`), applied with the Keras optimizers."""

import os

import torch
from keras import ops

from utils.errors import UserError
from utils.training.losses import discriminator_loss, generator_loss
from utils.training.trainer import DCGANBase


def make_deterministic():
    """Make PyTorch pick deterministic kernels (same seed, same weights; slower on GPUs)."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark = False


def data_parallel():
    """Not available: Keras' PyTorch backend has no data-parallel trainer (use --backend tensorflow or jax)."""
    raise UserError(
        "--data-parallel needs --backend tensorflow or jax; Keras' PyTorch backend has no data-parallel fit"
    )


def _gradients(variables):
    return [variable.value.grad for variable in variables]


def sum_gradient(function, inputs):
    """(function(inputs), gradient of the sum of its outputs with respect to `inputs`) for one float32 batch."""
    inputs = ops.convert_to_tensor(inputs).requires_grad_(True)
    outputs = function(inputs)
    outputs.sum().backward()
    return ops.convert_to_numpy(outputs.detach()), ops.convert_to_numpy(inputs.grad)


class DCGAN(DCGANBase):
    __doc__ = DCGANBase.__doc__

    def compile(self, d_optimizer, g_optimizer, steps_per_execution=1, **kwargs):
        """As `DCGANBase.compile`; Keras' PyTorch trainer runs one step per call, so `steps_per_execution` is 1."""
        if steps_per_execution != 1:
            raise UserError(
                "--steps-per-execution needs --backend tensorflow or jax; Keras' PyTorch backend runs one step per call"
            )
        super().compile(d_optimizer, g_optimizer, **kwargs)

    def generate(self, batch_size):
        """G's images for fresh noise, with autograd's record of them for the G step; a 1-tuple."""
        return (self.generator(self.sample_latent(batch_size), training=True),)

    def d_step(self, real_images, fakes=None):
        """One update of D on a batch of real images and as many generated ones (`fakes`, else new ones).

        Returns:
            (d_loss, mean D(x), mean D(G(z))).
        """
        if fakes is None:
            with torch.no_grad():  # no graph to keep: this update does not train G
                fakes = self.generate(ops.shape(real_images)[0])
        fake_images = fakes[0].detach()
        self.zero_grad()
        real_logits = self.discriminator(real_images, training=True)
        fake_logits = self.discriminator(fake_images, training=True)
        d_loss = discriminator_loss(real_logits, fake_logits)
        self.d_optimizer.scale_loss(d_loss).backward()
        with torch.no_grad():
            self.d_optimizer.apply(
                _gradients(self.discriminator.trainable_weights), self.discriminator.trainable_weights
            )
        return d_loss.detach(), ops.mean(ops.sigmoid(real_logits.detach())), ops.mean(ops.sigmoid(fake_logits.detach()))

    def g_step(self, batch_size, fakes=None):
        """One update of G through the (fixed) current D, on `fakes` (from `generate`) or on new images.

        Returns:
            g_loss.
        """
        self.zero_grad()
        (fake_images,) = fakes or self.generate(batch_size)
        g_loss = generator_loss(self.discriminator(fake_images, training=True))
        self.g_optimizer.scale_loss(g_loss).backward()
        with torch.no_grad():
            self.g_optimizer.apply(_gradients(self.generator.trainable_weights), self.generator.trainable_weights)
        return g_loss.detach()
