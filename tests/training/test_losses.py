"""The GAN losses: known logits give known values, and each loss points the way its network must learn."""

import math

import numpy as np
import pytest
from keras import ops

from utils.training.losses import discriminator_loss, generator_loss

pytestmark = pytest.mark.backends  # the losses are Keras ops: the same on every backend


def softplus(x):
    return math.log1p(math.exp(x))


def value(tensor):
    return float(ops.convert_to_numpy(tensor))


def logits(*values):
    return ops.convert_to_tensor(np.array(values, np.float32).reshape(-1, 1))


def test_discriminator_loss_values():
    # -log sigmoid(real) - log(1 - sigmoid(fake)) = softplus(-real) + softplus(fake), averaged over the batch.
    assert value(discriminator_loss(logits(0.0), logits(0.0))) == pytest.approx(2 * math.log(2), rel=1e-6)
    expected = (softplus(-2.0) + softplus(-1.0)) / 2 + (softplus(-1.0) + softplus(0.5)) / 2
    assert value(discriminator_loss(logits(2.0, 1.0), logits(-1.0, 0.5))) == pytest.approx(expected, rel=1e-6)


def test_generator_loss_values():
    # The non-saturating loss: -log sigmoid(fake), averaged.
    assert value(generator_loss(logits(0.0))) == pytest.approx(math.log(2), rel=1e-6)
    assert value(generator_loss(logits(3.0, -1.0))) == pytest.approx((softplus(-3.0) + softplus(1.0)) / 2, rel=1e-6)


def test_d_is_rewarded_for_calling_real_images_real_and_generated_ones_fake():
    right, wrong = discriminator_loss(logits(4.0), logits(-4.0)), discriminator_loss(logits(-4.0), logits(4.0))
    assert value(right) < 0.05 < 8.0 < value(wrong)
    # Raising the real logit or lowering the fake one lowers D's loss.
    assert value(discriminator_loss(logits(1.0), logits(0.0))) < value(discriminator_loss(logits(0.0), logits(0.0)))
    assert value(discriminator_loss(logits(0.0), logits(-1.0))) < value(discriminator_loss(logits(0.0), logits(0.0)))


def test_g_is_rewarded_when_d_calls_its_images_real():
    assert value(generator_loss(logits(4.0))) < 0.05 < 4.0 < value(generator_loss(logits(-4.0)))
    assert value(generator_loss(logits(1.0))) < value(generator_loss(logits(0.0)))
