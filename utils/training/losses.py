"""GAN losses as plain functions of D's logits (binary cross-entropy, the paper's objective)."""

from keras import ops


def _bce(target, logits):
    return ops.mean(ops.binary_crossentropy(target, logits, from_logits=True))


def discriminator_loss(real_logits, fake_logits):
    """D's loss: real images should score 1, generated ones 0.

    Args:
        real_logits: D's logits on real images, (batch, 1).
        fake_logits: D's logits on generated images, (batch, 1).

    Returns:
        Scalar loss, the sum of the real and fake halves (as the PyTorch reference reports it).
    """
    return _bce(ops.ones_like(real_logits), real_logits) + _bce(ops.zeros_like(fake_logits), fake_logits)


def generator_loss(fake_logits):
    """G's non-saturating loss: generated images should score 1 under D.

    Args:
        fake_logits: D's logits on generated images, (batch, 1).

    Returns:
        Scalar loss.
    """
    return _bce(ops.ones_like(fake_logits), fake_logits)
