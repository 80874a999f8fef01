"""Generator and discriminator builders: plain `keras.Sequential` models that save to .h5 and .keras.

Both networks follow the paper's guidelines: strided convolutions, no pooling, no hidden dense layers,
BatchNorm everywhere except G's output and D's input, ReLU/tanh in G, LeakyReLU(0.2) in D, weights
drawn from N(0, 0.02). Widths double from the image towards the 4x4 (7x7 for 28-pixel images) core:
the paper's 64x64 generator is z(100) -> 4x4x1024 -> 8x8x512 -> 16x16x256 -> 32x32x128 -> 64x64x3.
"""

import math

import keras

from utils.training.config import ModelConfig  # noqa: F401  (re-exported for callers building models)


def core_size(image_size):
    """Side of the smallest feature map: 7 for 28-pixel images, else 4."""
    return 7 if image_size == 28 else 4


def _levels(image_size):
    """Number of stride-2 layers between the core and the image."""
    return int(math.log2(image_size // core_size(image_size)))


def _weights():
    return keras.initializers.RandomNormal(mean=0.0, stddev=0.02)


def _batchnorm(name):
    # PyTorch-style statistics (momentum 0.1 there is 0.9 here) and gamma ~ N(1, 0.02) as the paper.
    return keras.layers.BatchNormalization(
        momentum=0.9, epsilon=1e-5, gamma_initializer=keras.initializers.RandomNormal(1.0, 0.02), name=name
    )


def build_generator(config):
    """Build G: z -> image in [-1, 1].

    Args:
        config: a `ModelConfig`.

    Returns:
        A `keras.Sequential` named "generator" mapping (batch, latent_dim) to (batch, S, S, C).
    """
    core = core_size(config.image_size)
    levels = _levels(config.image_size)
    # Hidden widths from the core outwards, e.g. paper 64x64: [1024, 512, 256, 128].
    widths = [config.g_width * 2**i for i in reversed(range(levels))]
    bias = not config.g_batchnorm
    layers = [keras.Input((config.latent_dim,), name="z")]
    if config.projection == "dense":
        # z -> core x core x widths[0], e.g. 100 -> 4x4x1024
        layers += [
            keras.layers.Dense(core * core * widths[0], use_bias=bias, kernel_initializer=_weights(), name="project"),
            keras.layers.Reshape((core, core, widths[0]), name="reshape"),
        ]
    else:
        # z as a 1x1 map -> core x core x widths[0] by a valid transposed convolution, e.g. 1x1x100 -> 4x4x512
        layers += [
            keras.layers.Reshape((1, 1, config.latent_dim), name="reshape"),
            keras.layers.Conv2DTranspose(
                widths[0],
                core,
                strides=1,
                padding="valid",
                use_bias=bias,
                kernel_initializer=_weights(),
                name="project",
            ),
        ]
    if config.g_batchnorm:
        layers.append(_batchnorm("project_bn"))
    layers.append(keras.layers.ReLU(name="project_relu"))
    for index, width in enumerate(widths[1:], start=1):
        # s x s x 2w -> 2s x 2s x w, e.g. 4x4x1024 -> 8x8x512
        layers.append(
            keras.layers.Conv2DTranspose(
                width,
                config.kernel_size,
                strides=2,
                padding="same",
                use_bias=bias,
                kernel_initializer=_weights(),
                name=f"up{index}",
            )
        )
        if config.g_batchnorm:
            layers.append(_batchnorm(f"up{index}_bn"))
        layers.append(keras.layers.ReLU(name=f"up{index}_relu"))
    # last hidden map -> image, e.g. 32x32x128 -> 64x64x3; tanh kept in float32 for mixed precision
    layers += [
        keras.layers.Conv2DTranspose(
            config.channels,
            config.kernel_size,
            strides=2,
            padding="same",
            kernel_initializer=_weights(),
            name="to_image",
        ),
        keras.layers.Activation("tanh", dtype="float32", name="tanh"),
    ]
    return keras.Sequential(layers, name="generator")


def build_discriminator(config):
    """Build D: image -> one real/fake logit (no sigmoid; losses work on logits).

    Args:
        config: a `ModelConfig`.

    Returns:
        A `keras.Sequential` named "discriminator" mapping (batch, S, S, C) to (batch, 1).
    """
    core = core_size(config.image_size)
    levels = _levels(config.image_size)
    # Widths from the image inwards, e.g. paper 64x64: [128, 256, 512, 1024].
    widths = [config.d_width * 2**i for i in range(levels)]
    layers = [keras.Input((config.image_size, config.image_size, config.channels), name="image")]
    for index, width in enumerate(widths, start=1):
        # 2s x 2s x w/2 -> s x s x w, e.g. 64x64x3 -> 32x32x128; no BatchNorm on the input layer
        batchnorm = config.d_batchnorm and index > 1
        layers.append(
            keras.layers.Conv2D(
                width,
                config.kernel_size,
                strides=2,
                padding="same",
                use_bias=not batchnorm,
                kernel_initializer=_weights(),
                name=f"conv{index}",
            )
        )
        if batchnorm:
            layers.append(_batchnorm(f"conv{index}_bn"))
        layers.append(keras.layers.LeakyReLU(negative_slope=0.2, name=f"conv{index}_lrelu"))
        if config.d_dropout:
            layers.append(keras.layers.Dropout(config.d_dropout, name=f"conv{index}_dropout"))
    if config.d_output == "dense":
        # core x core x widths[-1] -> 1 logit, e.g. 4x4x1024 -> 1
        layers += [
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(1, kernel_initializer=_weights(), dtype="float32", name="logit"),
        ]
    else:
        # core x core x widths[-1] -> 1x1x1 by a valid convolution, as the PyTorch reference
        layers += [
            keras.layers.Conv2D(1, core, padding="valid", kernel_initializer=_weights(), dtype="float32", name="logit"),
            keras.layers.Flatten(name="flatten"),
        ]
    return keras.Sequential(layers, name="discriminator")


def trainable_params(model):
    """Number of trainable parameters of `model`."""
    return int(sum(math.prod(weight.shape) for weight in model.trainable_weights))
