"""Discriminator features (paper section 5.1): every conv layer of D max-pooled to a 4x4 grid, concatenated.

For a 28x28 D of widths 32/64 the conv maps are 14x14x32 and 7x7x64, so the feature vector has
16 * 32 + 16 * 64 = 1536 entries. Maps whose side is not a multiple of the grid are pooled adaptively
(PyTorch's AdaptiveMaxPool2d bins: cell i covers rows floor(i*H/g) to ceil((i+1)*H/g), so a 7x7 map gives
the overlapping bins 0-1, 1-3, 3-5, 5-6).
"""

import math
import re

import keras
import numpy as np

from utils.errors import UserError
from utils.images import to_unit_range

GRID = 4
# Activations of D's conv layers as utils.training.models names them: conv1_lrelu, conv2_lrelu, ...
CONV_ACTIVATION = re.compile(r"conv\d+_lrelu")


def pool_bins(size, grid=GRID):
    """The (start, end) rows of each of the `grid` cells of adaptive max pooling over `size` rows.

    Args:
        size: side of the feature map.
        grid: cells per side.

    Returns:
        A list of `grid` (start, end) pairs, end exclusive; bins overlap when `grid` does not divide `size`.
    """
    return [(math.floor(i * size / grid), math.ceil((i + 1) * size / grid)) for i in range(grid)]


def adaptive_max_pool(maps, grid=GRID):
    """Max-pool (B, H, W, C) maps to (B, grid, grid, C) with adaptive bins (works on arrays and Keras tensors).

    Args:
        maps: feature maps, channels last.
        grid: cells per side.

    Returns:
        The pooled maps.
    """
    height, width = maps.shape[1], maps.shape[2]
    rows = keras.ops.stack([keras.ops.max(maps[:, a:b], axis=1) for a, b in pool_bins(height, grid)], axis=1)
    return keras.ops.stack([keras.ops.max(rows[:, :, a:b], axis=2) for a, b in pool_bins(width, grid)], axis=2)


def conv_activation_names(discriminator):
    """Names of D's conv activations (conv{i}_lrelu) in order; UserError when D has none."""
    names = [layer.name for layer in discriminator.layers if CONV_ACTIVATION.fullmatch(layer.name)]
    if not names:
        raise UserError(f"discriminator {discriminator.name!r} has no conv{{i}}_lrelu layers to take features from")
    return names


def feature_extractor(discriminator, grid=GRID):
    """A model mapping images to D's pooled conv features (paper section 5.1), sharing D's weights.

    Args:
        discriminator: a `keras.Sequential` discriminator of `utils.training.models`.
        grid: cells per side of the max-pooling grid.

    Returns:
        A `keras.Model` from (B, S, S, C) images to (B, sum over conv layers of grid*grid*channels) features.
    """
    names = conv_activation_names(discriminator)
    inputs = keras.Input(discriminator.input_shape[1:], name="image")
    outputs, x = [], inputs
    for layer in discriminator.layers:
        x = layer(x)
        if layer.name in names:
            outputs.append(keras.ops.reshape(adaptive_max_pool(x, grid), (-1, grid * grid * x.shape[-1])))
        if layer.name == names[-1]:
            break
    features = outputs[0] if len(outputs) == 1 else keras.ops.concatenate(outputs, axis=-1)
    return keras.Model(inputs, features, name=f"{discriminator.name}_features")


def extract_features(extractor, images, batch_size=500):
    """Run `extractor` over `images` in batches, in inference mode.

    Args:
        extractor: a model of `feature_extractor`.
        images: (N, S, S, C) float32 in [-1, 1].
        batch_size: images per batch.

    Returns:
        (N, D) float32 array.
    """
    if len(images) == 0:
        return np.zeros((0, extractor.output_shape[-1]), np.float32)
    return np.asarray(extractor.predict(images, batch_size=batch_size, verbose=0), np.float32)


def random_discriminator(discriminator, seed=0):
    """The same D architecture with freshly initialised, untrained weights (the random-features baseline).

    Args:
        discriminator: a trained `keras.Sequential` discriminator.
        seed: seed of the new weights.

    Returns:
        A new model of the same layers, weights drawn from each layer's initializer.
    """
    keras.utils.set_random_seed(seed)
    return keras.models.clone_model(discriminator)


def load_arrays(name, data_dir=None, split="train", subset=None, seed=0, labels=True, half=None):
    """Load a dataset split into memory as arrays of images in [-1, 1] (and labels).

    Args:
        name: dataset name (see `utils.data.registry`).
        data_dir: as `utils.data.load.load_dataset`.
        split: "train" or "test".
        subset: keep this many examples, chosen with `seed`; all when None.
        seed: seed of the subset.
        labels: also return the labels; UserError when the dataset has none.
        half: None, or one of the split's two disjoint halves (`utils.data.load.load_dataset`).

    Returns:
        (images (N, S, S, C) float32, labels (N,) int64) if `labels`, else the images.
    """
    from utils.data.load import load_dataset

    data = load_dataset(name, data_dir=data_dir, subset=subset, seed=seed, split=split, half=half, drop_remainder=False)
    pixels, label_array = data.arrays()  # the decoded uint8 examples, in stored order
    images = to_unit_range(pixels)  # as the analysis pipeline scales them
    if not labels:
        return images
    if (label_array < 0).any():
        raise UserError(f"dataset {name!r} has no class labels; classification needs a labelled dataset")
    return images, label_array
