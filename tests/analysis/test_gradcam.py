"""Grad-CAM: the layer it explains, heatmaps of a hand-built D with a planted region, the colour overlay."""

import dataclasses

import keras
import numpy as np
import pytest

from utils.analysis.gradcam import feature_index, gradcam, last_conv_index, overlay_heatmap
from utils.errors import UserError
from utils.training.models import build_discriminator

pytestmark = pytest.mark.backends  # make test runs this file on every Keras backend


def _names(model):
    return model.layers[last_conv_index(model)].name, model.layers[feature_index(model)].name


def test_explained_layers_of_every_discriminator_variant(tiny_model):
    assert _names(build_discriminator(tiny_model)) == ("conv2", "conv2_lrelu")
    # With a convolutional output layer the "logit" convolution is never the one explained.
    assert _names(build_discriminator(dataclasses.replace(tiny_model, d_output="conv"))) == ("conv2", "conv2_lrelu")
    dropout = build_discriminator(dataclasses.replace(tiny_model, d_dropout=0.3, d_batchnorm=False))
    assert _names(dropout) == ("conv2", "conv2_lrelu")
    assert _names(build_discriminator(dataclasses.replace(tiny_model, image_size=64))) == ("conv4", "conv4_lrelu")


def test_model_without_convolution_is_refused():
    model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(1, name="logit")])
    with pytest.raises(UserError, match="no hidden Conv2D"):
        last_conv_index(model)


def _planted_d(sign):
    """8x8 image -> 2x2 average (stride-2 conv) -> LeakyReLU -> sum of the 4x4 map times `sign`."""
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(1, 2, strides=2, use_bias=False, name="conv1"),
            keras.layers.LeakyReLU(0.2, name="conv1_lrelu"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(1, use_bias=False, name="logit"),
        ]
    )
    model.get_layer("conv1").set_weights([np.full((2, 2, 1, 1), 0.25, np.float32)])
    model.get_layer("logit").set_weights([np.full((16, 1), sign, np.float32)])
    return model


def _planted_image():
    image = -np.ones((1, 8, 8, 1), np.float32)
    image[0, :4, 4:] = 1.0  # bright top-right square: a 2x2 block of the 4x4 feature map
    return image


def test_gradcam_highlights_the_region_that_raises_the_logit():
    # Feature map A = +1 in the block, -1 elsewhere; dlogit/dA = 1 there and 0.2 elsewhere, so the channel
    # weight is (4 + 12 * 0.2) / 16 = 0.4 and ReLU(0.4 A) is 0.4 on the block only: 1 after scaling.
    heatmaps, logits = gradcam(_planted_d(1.0), _planted_image())
    assert heatmaps.shape == (1, 8, 8) and heatmaps.dtype == np.float32
    assert heatmaps.min() >= 0.0 and heatmaps.max() == pytest.approx(1.0)
    inside = np.zeros((8, 8), bool)
    inside[:4, 4:] = True
    assert heatmaps[0][inside].mean() > 0.8
    assert heatmaps[0][~inside].mean() < 0.1
    assert heatmaps[0, 1:3, 5:7] == pytest.approx(np.ones((2, 2)))  # the block's centre
    np.testing.assert_allclose(logits, [4 * 1.0 + 12 * -0.2], atol=1e-5)


def test_gradcam_follows_the_real_logit_sign():
    # When the logit falls with the map's values, the dark background is what makes the image look real.
    heatmaps, _ = gradcam(_planted_d(-1.0), _planted_image())
    assert heatmaps[0, 6:, :3] == pytest.approx(np.ones((2, 3)))
    assert heatmaps[0, 1:3, 5:7] == pytest.approx(np.zeros((2, 2)))


def test_gradcam_of_a_tiny_discriminator(tiny_model):
    model = build_discriminator(tiny_model)
    images = np.random.default_rng(0).uniform(-1, 1, (5, 28, 28, 1)).astype(np.float32)
    heatmaps, logits = gradcam(model, images)
    assert heatmaps.shape == (5, 28, 28)
    assert heatmaps.min() >= 0.0 and heatmaps.max() <= 1.0
    np.testing.assert_allclose(
        logits, keras.ops.convert_to_numpy(model(images, training=False)).reshape(-1), rtol=1e-5, atol=1e-6
    )


def test_overlay_blends_opencv_jet_colours():
    images = np.zeros((2, 3, 3, 1), np.float32)  # mid grey
    heatmaps = np.stack([np.zeros((3, 3)), np.ones((3, 3))]).astype(np.float32)
    colours = overlay_heatmap(images, heatmaps, alpha=1.0)
    assert colours.shape == (2, 3, 3, 3) and colours.dtype == np.uint8
    np.testing.assert_array_equal(colours[0, 0, 0], [0, 0, 128])  # JET's coldest: dark blue (RGB)
    np.testing.assert_array_equal(colours[1, 0, 0], [128, 0, 0])  # JET's hottest: dark red
    np.testing.assert_array_equal(overlay_heatmap(images, heatmaps, alpha=0.0)[1, 0, 0], [128, 128, 128])
    rgb = overlay_heatmap(np.zeros((1, 3, 3, 3), np.float32), heatmaps[1:], alpha=0.5)
    np.testing.assert_array_equal(rgb[0, 0, 0], [128, 64, 64])
