"""Grad-CAM (Selvaraju et al. 2017) on D's last convolution, and its colour overlay on the images.

Grad-CAM weights each feature map of a convolution by the mean gradient of the score with respect to it,
sums them and keeps the positive part: where the map is bright, that region pushed D's "real" logit up.
"""

import cv2
import keras
import numpy as np

from utils.analysis.guided_backprop import ACTIVATIONS, input_gradient, predict, run_layers
from utils.errors import UserError
from utils.images import to_uint8


def last_conv_index(model):
    """Index in `model.layers` of D's last hidden convolution (conv1, conv2, ...; never the "logit" layer).

    Raises:
        UserError: the model has no such convolution.
    """
    indices = [
        index
        for index, layer in enumerate(model.layers)
        if isinstance(layer, keras.layers.Conv2D) and layer.name != "logit"
    ]
    if not indices:
        raise UserError(f"model {model.name!r} has no hidden Conv2D layer to explain")
    return indices[-1]


def feature_index(model):
    """Index in `model.layers` of D's last convolutional features (the activation after its last convolution).

    That is conv{i}_lrelu in this toolkit's D; the convolution itself when no activation follows it.
    """
    conv = last_conv_index(model)
    for index in range(conv + 1, len(model.layers)):
        layer = model.layers[index]
        if isinstance(layer, ACTIVATIONS):
            return index
        if isinstance(layer, (keras.layers.Flatten, keras.layers.Dense, keras.layers.Conv2D)):
            break
    return conv


def gradcam(model, images, layer_index=None):
    """Grad-CAM heatmaps of D's logit on one convolution, resized to the images.

    Args:
        model: a Sequential D mapping images to one logit.
        images: (N, S, S, C) floats in [-1, 1].
        layer_index: the convolution in `model.layers`; `last_conv_index(model)` when None.

    Returns:
        (heatmaps (N, S, S) float32 in [0, 1], each scaled so its maximum is 1 (all 0 when no region
        raises the logit), logits (N,)).
    """
    layer_index = last_conv_index(model) if layer_index is None else layer_index
    images = np.asarray(images, np.float32)
    features = predict(model.layers[: layer_index + 1], images)
    tail = model.layers[layer_index + 1 :]
    logits, gradients = input_gradient(lambda x: run_layers(tail, x), features)
    weights = gradients.mean(axis=(1, 2), keepdims=True)  # (N, 1, 1, K): importance of each feature map
    cams = np.maximum((weights * features).sum(axis=-1), 0.0)  # (N, H, W)
    peak = cams.max(axis=(1, 2), keepdims=True)
    cams = np.divide(cams, peak, out=np.zeros_like(cams), where=peak > 0)
    height, width = images.shape[1:3]
    resized = np.stack([cv2.resize(cam, (width, height), interpolation=cv2.INTER_LINEAR) for cam in cams])
    return np.clip(resized, 0.0, 1.0).astype(np.float32), logits.reshape(-1)


def overlay_heatmap(images, heatmaps, alpha=0.4):
    """Blend OpenCV's JET colouring of `heatmaps` over `images` (red: important, blue: not).

    Args:
        images: (N, S, S, C) floats in [-1, 1], C = 1 or 3.
        heatmaps: (N, S, S) floats in [0, 1].
        alpha: weight of the heatmap colour.

    Returns:
        (N, S, S, 3) uint8 RGB.
    """
    pixels = to_uint8(images)
    if pixels.shape[-1] == 1:
        pixels = np.repeat(pixels, 3, axis=-1)
    levels = np.clip(np.rint(np.asarray(heatmaps) * 255), 0, 255).astype(np.uint8)
    blended = []
    for image, level in zip(pixels, levels, strict=True):
        colour = cv2.cvtColor(cv2.applyColorMap(level, cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)
        blended.append(cv2.addWeighted(colour, alpha, image, 1.0 - alpha, 0.0))
    return np.stack(blended)
