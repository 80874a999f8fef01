"""Guided backpropagation: hand-computed gradients, a numpy reference, filter ranking and display scaling."""

import keras
import numpy as np
import pytest

from utils.analysis import guided_backprop
from utils.analysis.guided_backprop import (
    filter_guided_backprop,
    filter_scores,
    gradient_image,
    input_gradient,
    run_layers,
    top_filters,
    top_images,
)

pytestmark = pytest.mark.backends  # make test runs this file on every Keras backend


def _hand_model():
    """x (1x1x2) -> 1x1 conv to 3 units -> LeakyReLU(0.2) -> flatten -> logit, with chosen weights."""
    model = keras.Sequential(
        [
            keras.Input((1, 1, 2)),
            keras.layers.Conv2D(3, 1, use_bias=False, name="conv1"),
            keras.layers.LeakyReLU(0.2, name="conv1_lrelu"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(1, use_bias=False, name="logit"),
        ]
    )
    model.get_layer("conv1").set_weights([np.array([[1.0, -1.0, 2.0], [0.5, 1.0, -1.0]], np.float32)[None, None]])
    model.get_layer("logit").set_weights([np.array([[1.0], [1.0], [-1.0]], np.float32)])
    return model


def test_guided_gradient_matches_hand_computation():
    # x = (2, 1): hidden pre-activations (2.5, -1, 3); output weights (1, 1, -1).
    # Unit 0 passes (input > 0, upstream > 0); unit 1 is blocked by its negative input; unit 2 by its
    # negative upstream gradient. Guided gradient = W[:, 0] = (1, 0.5).
    # Plain gradient = W[:, 0] * 1 + W[:, 1] * 0.2 + W[:, 2] * (-1) = (-1.2, 1.7).
    model = _hand_model()
    image = np.array([2.0, 1.0], np.float32).reshape(1, 1, 1, 2)
    logits, gradients = guided_backprop.guided_backprop(model, image)
    np.testing.assert_allclose(logits, [2.5 - 0.2 - 3.0], atol=1e-6)
    np.testing.assert_allclose(gradients.reshape(-1), [1.0, 0.5], atol=1e-6)
    _, plain = input_gradient(lambda x: run_layers(model.layers, x), image)
    np.testing.assert_allclose(plain.reshape(-1), [-1.2, 1.7], atol=1e-6)


def _numpy_guided(weights, images):
    """Guided backprop of a 1x1-conv -> LeakyReLU -> 1x1-conv -> ReLU -> dense net, by hand in numpy."""
    (w1, b1), (w2, b2), (v, c) = weights
    x = images.reshape(len(images), -1).astype(np.float64)
    h1 = x @ w1.reshape(w1.shape[-2:]) + b1
    a1 = np.where(h1 > 0, h1, 0.2 * h1)
    h2 = a1 @ w2.reshape(w2.shape[-2:]) + b2
    a2 = np.maximum(h2, 0)
    logits = a2 @ v[:, 0] + c[0]
    up2 = np.broadcast_to(v[:, 0], h2.shape)
    g2 = np.where((h2 > 0) & (up2 > 0), up2, 0.0)
    up1 = g2 @ w2.reshape(w2.shape[-2:]).T
    g1 = np.where((h1 > 0) & (up1 > 0), up1, 0.0)
    return logits, (g1 @ w1.reshape(w1.shape[-2:]).T).reshape(images.shape)


def test_guided_gradient_matches_numpy_reference_through_two_activations():
    model = keras.Sequential(
        [
            keras.Input((1, 1, 3)),
            keras.layers.Conv2D(6, 1, name="conv1"),
            keras.layers.LeakyReLU(0.2),
            keras.layers.Conv2D(5, 1, name="conv2"),
            keras.layers.ReLU(),
            keras.layers.Flatten(),
            keras.layers.Dense(1, name="logit"),
        ]
    )
    rng = np.random.default_rng(1)
    for layer in (model.get_layer("conv1"), model.get_layer("conv2"), model.get_layer("logit")):
        layer.set_weights([rng.standard_normal(w.shape).astype(np.float32) for w in layer.get_weights()])
    images = rng.standard_normal((7, 1, 1, 3)).astype(np.float32)
    weights = [model.get_layer(name).get_weights() for name in ("conv1", "conv2", "logit")]
    expected_logits, expected = _numpy_guided(weights, images)
    logits, gradients = guided_backprop.guided_backprop(model, images)
    np.testing.assert_allclose(logits, expected_logits, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gradients, expected, rtol=1e-5, atol=1e-5)
    assert np.count_nonzero(gradients) > 0  # the case is not trivially all-blocked
    np.testing.assert_allclose(logits, keras.ops.convert_to_numpy(model(images)).reshape(-1), rtol=1e-5, atol=1e-6)


def test_input_gradient_is_the_same_in_small_chunks(monkeypatch):
    model = _hand_model()
    images = np.random.default_rng(0).standard_normal((9, 1, 1, 2)).astype(np.float32)
    whole = guided_backprop.guided_backprop(model, images)
    monkeypatch.setattr(guided_backprop, "BATCH_SIZE", 2)
    chunked = guided_backprop.guided_backprop(model, images)
    np.testing.assert_allclose(chunked[0], whole[0], atol=1e-6)
    np.testing.assert_allclose(chunked[1], whole[1], atol=1e-6)


def _two_filter_model():
    """2x2x1 image -> filters (x, -x) -> LeakyReLU(0.2) -> flatten -> logit."""
    model = keras.Sequential(
        [
            keras.Input((2, 2, 1)),
            keras.layers.Conv2D(2, 1, use_bias=False, name="conv1"),
            keras.layers.LeakyReLU(0.2, name="conv1_lrelu"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(1, name="logit"),
        ]
    )
    model.get_layer("conv1").set_weights([np.array([1.0, -1.0], np.float32).reshape(1, 1, 1, 2)])
    return model


def test_filter_ranking_and_filter_gradients():
    model = _two_filter_model()
    images = np.stack([np.full((2, 2, 1), 2.0), np.full((2, 2, 1), -1.0)]).astype(np.float32)
    scores = filter_scores(model, images, layer_index=1)
    np.testing.assert_allclose(scores, [[2.0, -0.4], [-0.2, 1.0]], atol=1e-6)
    assert top_filters(scores, 2) == [0, 1]  # means 0.9 and 0.3
    assert top_filters(scores, 1) == [0]
    assert top_images(scores, 1, 2) == [1, 0]
    # d mean(lrelu(x)) / dx = 1/4 per pixel where x > 0; the guided rule blocks negative inputs entirely
    # (the plain gradient there would be 0.2/4).
    gradients = filter_guided_backprop(model, images, layer_index=1, filter_index=0)
    np.testing.assert_allclose(gradients[0], np.full((2, 2, 1), 0.25), atol=1e-6)
    np.testing.assert_allclose(gradients[1], np.zeros((2, 2, 1)), atol=1e-6)
    # Filter 1 computes -x: the second image (x = -1) passes with d(-x)/dx = -1/4.
    gradients = filter_guided_backprop(model, images, layer_index=1, filter_index=1)
    np.testing.assert_allclose(gradients[1], np.full((2, 2, 1), -0.25), atol=1e-6)
    np.testing.assert_allclose(gradients[0], np.zeros((2, 2, 1)), atol=1e-6)


def test_gradient_image_scales_each_map_symmetrically():
    gradients = np.zeros((2, 1, 2, 1), np.float32)
    gradients[1, 0, :, 0] = [-2.0, 1.0]
    shown = gradient_image(gradients)
    np.testing.assert_allclose(shown[0].reshape(-1), [0.5, 0.5])
    np.testing.assert_allclose(shown[1].reshape(-1), [0.0, 0.75])
