"""Guided backpropagation through a saved Sequential D, and the top filters of its last convolution.

Guided backpropagation (Springenberg et al. 2015, used by the DCGAN paper to show D's features) passes a
gradient back through a ReLU or LeakyReLU only where both the layer's input and the gradient arriving from
above are positive. The model is never rebuilt: its own layers are called one after the other, with each
activation wrapped in a `keras.ops.custom_gradient` that keeps the forward values and gates the gradient.
"""

import keras
import numpy as np
from keras import ops

ACTIVATIONS = (keras.layers.ReLU, keras.layers.LeakyReLU)
BATCH_SIZE = 64  # images per forward/backward pass, so large samples fit in memory


def guided_activation(layer):
    """Wrap an activation layer so its gradient is gated to positive input and positive upstream gradient.

    Args:
        layer: a ReLU or LeakyReLU layer; its forward output is kept unchanged.

    Returns:
        A function of a tensor, differentiable with the guided rule.
    """

    @ops.custom_gradient
    def forward(inputs):
        def gradient(*args, upstream=None):
            if upstream is None:
                (upstream,) = args
            gate = ops.logical_and(ops.greater(inputs, 0), ops.greater(upstream, 0))
            # Where the input is positive, ReLU and LeakyReLU both have slope 1.
            return ops.where(gate, upstream, ops.zeros_like(upstream))

        return layer(inputs), gradient

    return forward


def run_layers(layers, inputs, guided=False):
    """Call `layers` one after the other in inference mode.

    Args:
        layers: Keras layers, e.g. a slice of a Sequential model's `layers`.
        inputs: the first layer's input tensor.
        guided: replace every ReLU/LeakyReLU by `guided_activation` (same values, guided gradient).

    Returns:
        The last layer's output tensor.
    """
    outputs = inputs
    for layer in layers:
        if guided and isinstance(layer, ACTIVATIONS):
            outputs = guided_activation(layer)(outputs)
        else:
            outputs = layer(outputs, training=False)
    return outputs


def predict(layers, inputs):
    """Run `layers` on a numpy batch in chunks of `BATCH_SIZE`; returns a numpy array."""
    inputs = np.asarray(inputs, np.float32)
    return np.concatenate(
        [
            ops.convert_to_numpy(run_layers(layers, inputs[i : i + BATCH_SIZE]))
            for i in range(0, len(inputs), BATCH_SIZE)
        ]
    )


def input_gradient(function, inputs):
    """Evaluate `function` and the gradient of the sum of its outputs with respect to its inputs.

    Every output row must depend on its own input row only (true for a model in inference mode), so the
    gradient of the sum is each row's own gradient. The active backend takes the gradient (`utils.training.backends`).

    Args:
        function: maps a float32 tensor (N, ...) to a tensor (N, ...).
        inputs: numpy array (N, ...).

    Returns:
        (outputs, gradients) as numpy arrays; gradients have the shape of `inputs`.
    """
    from utils.training.backends import sum_gradient

    inputs = np.asarray(inputs, np.float32)
    chunks = [sum_gradient(function, inputs[start : start + BATCH_SIZE]) for start in range(0, len(inputs), BATCH_SIZE)]
    outputs, gradients = zip(*chunks, strict=True)
    return np.concatenate(outputs), np.concatenate(gradients)


def guided_backprop(model, images):
    """Guided-backpropagation maps of D's logit (the "real" score) with respect to the input images.

    Args:
        model: a Sequential D mapping images to one logit.
        images: (N, S, S, C) floats in [-1, 1].

    Returns:
        (logits (N,), gradients (N, S, S, C)).
    """
    logits, gradients = input_gradient(lambda x: run_layers(model.layers, x, guided=True), images)
    return logits.reshape(-1), gradients


def filter_scores(model, images, layer_index):
    """Mean activation of every filter of one layer, per image.

    Args:
        model: a Sequential model.
        images: (N, S, S, C) model inputs.
        layer_index: index in `model.layers` of a layer with a (N, H, W, K) output.

    Returns:
        (N, K) array: each filter's activation averaged over the feature map, for each image.
    """
    features = predict(model.layers[: layer_index + 1], images)
    return features.mean(axis=(1, 2))


def top_filters(scores, k):
    """Indices of the `k` filters with the largest mean activation over all images (largest first)."""
    return [int(index) for index in np.argsort(-scores.mean(axis=0), kind="stable")[:k]]


def top_images(scores, filter_index, k):
    """Indices of the `k` images that activate one filter most (largest first)."""
    return [int(index) for index in np.argsort(-scores[:, filter_index], kind="stable")[:k]]


def filter_guided_backprop(model, images, layer_index, filter_index):
    """Guided-backpropagation maps of one filter's mean activation with respect to the input images.

    Args:
        model: a Sequential model.
        images: (N, S, S, C) model inputs.
        layer_index: index in `model.layers` of the layer holding the filter.
        filter_index: the filter (channel) of that layer's output.

    Returns:
        (N, S, S, C) gradients.
    """

    def activation(inputs):
        features = run_layers(model.layers[: layer_index + 1], inputs, guided=True)
        return ops.mean(features[..., filter_index], axis=(1, 2))

    return input_gradient(activation, images)[1]


def gradient_image(gradients):
    """Scale gradient maps for display: 0 becomes 0.5, each map's largest magnitude becomes 0 or 1.

    Args:
        gradients: (N, S, S, C) gradients.

    Returns:
        (N, S, S, C) float32 in [0, 1].
    """
    gradients = np.asarray(gradients, np.float32)
    scale = np.abs(gradients).max(axis=(1, 2, 3), keepdims=True)
    scaled = np.divide(gradients, scale, out=np.zeros_like(gradients), where=scale > 0)
    return 0.5 + 0.5 * scaled
