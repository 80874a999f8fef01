"""Walks through G's latent space: linear and spherical interpolation, walk grids, and their smoothness.

The paper (section 6.1) walks between random points of z and reads "no sharp transitions" as a sign that
G has not memorized its training images. `transition_ratio` makes that measurable: the largest distance
between consecutive frames of a walk divided by the mean distance. It is 1 when every step changes the
image equally and approaches steps - 1 when the whole change happens in one step.

`interpolate` is the whole analysis (`dcgan.py interpolate`), its figure is in `latent_plots`; `predict` runs a
model compiled once per model, for the analyses of this package.
"""

import weakref

import keras
import numpy as np

from utils.errors import UserError
from utils.training.samples import sample_latent

METHODS = ("linear", "slerp")
# When the sine of the angle between the endpoints is below this, slerp is ill-defined or equals lerp: use lerp.
MIN_SLERP_SINE = 1e-4


def lerp(z0, z1, steps):
    """Points on the straight line from `z0` to `z1`, endpoints included.

    Args:
        z0: (latent_dim,) start.
        z1: (latent_dim,) end.
        steps: number of points, at least 2.

    Returns:
        (steps, latent_dim) float32 array.
    """
    t = np.linspace(0.0, 1.0, steps)[:, None]
    return ((1.0 - t) * np.asarray(z0, np.float64) + t * np.asarray(z1, np.float64)).astype(np.float32)


def slerp(z0, z1, steps):
    """Points on the great-circle arc from `z0` to `z1` (spherical interpolation), endpoints included.

    Equal steps in angle; the norm moves smoothly between the two endpoints' norms instead of dipping in
    the middle as it does on the straight line, so every frame keeps the typical norm of Gaussian z.

    Args:
        z0: (latent_dim,) start.
        z1: (latent_dim,) end.
        steps: number of points, at least 2.

    Returns:
        (steps, latent_dim) float32 array.
    """
    z0, z1 = np.asarray(z0, np.float64), np.asarray(z1, np.float64)
    norms = np.linalg.norm(z0) * np.linalg.norm(z1)
    if norms == 0.0:
        return lerp(z0, z1, steps)
    angle = np.arccos(np.clip(np.dot(z0, z1) / norms, -1.0, 1.0))
    if np.sin(angle) < MIN_SLERP_SINE:  # (anti)parallel endpoints: no unique great circle
        return lerp(z0, z1, steps)
    t = np.linspace(0.0, 1.0, steps)[:, None]
    points = (np.sin((1.0 - t) * angle) * z0 + np.sin(t * angle) * z1) / np.sin(angle)
    return points.astype(np.float32)


def interpolate_points(z0, z1, steps, method="linear"):
    """Interpolate from `z0` to `z1` in `steps` points with "linear" or "slerp"."""
    if method not in METHODS:
        raise UserError(f"unknown interpolation method {method!r}; choose one of {', '.join(METHODS)}")
    return (lerp if method == "linear" else slerp)(z0, z1, steps)


def latent_walks(rows, steps, latent_dim, seed=0, method="linear"):
    """Latent vectors of a grid of walks: each row goes from one random z to another.

    Args:
        rows: number of walks.
        steps: frames per walk, endpoints included.
        latent_dim: length of z.
        seed: seed of the 2 * rows endpoints, drawn from N(0, 1).
        method: "linear" or "slerp".

    Returns:
        (rows * steps, latent_dim) float32 array, row after row.
    """
    ends = sample_latent(2 * rows, latent_dim, seed)
    return np.concatenate([interpolate_points(ends[2 * row], ends[2 * row + 1], steps, method) for row in range(rows)])


def step_distances(frames):
    """Euclidean distances between consecutive frames.

    Args:
        frames: (steps, ...) array: images, features or latent vectors.

    Returns:
        (steps - 1,) float64 array.
    """
    flat = np.asarray(frames, np.float64).reshape(len(frames), -1)
    return np.linalg.norm(np.diff(flat, axis=0), axis=1)


def transition_ratio(frames):
    """Largest step of a walk relative to its mean step (1 = perfectly even; NaN when nothing changes).

    Args:
        frames: (steps, ...) array, steps >= 2.

    Returns:
        max / mean of the consecutive distances, as a float.
    """
    distances = step_distances(frames)
    mean = distances.mean()
    return float(distances.max() / mean) if mean > 0 else float("nan")


def walk_ratios(frames, rows):
    """`transition_ratio` of every row of a walk grid.

    Args:
        frames: (rows * steps, ...) array, row after row.
        rows: number of walks.

    Returns:
        List of `rows` floats.
    """
    return [transition_ratio(row) for row in np.split(np.asarray(frames), rows)]


def discriminator_features(discriminator):
    """A model giving D's activations just before its output layer (the "flatten" output of our D).

    The output layer is the last layer with weights (the "logit" Dense or Conv2D); the features are the
    output of the layer before it, or the image itself when D has a single layer.

    Args:
        discriminator: a Sequential or functional Keras model, image -> one logit.

    Returns:
        A `keras.Model` on the same inputs; flatten its outputs per image to compare them.
    """
    layers = discriminator.layers
    weighted = [index for index, layer in enumerate(layers) if layer.weights]
    if not weighted or weighted[-1] == 0:
        raise UserError(f"discriminator {discriminator.name!r} has no hidden layer before its output")
    return keras.Model(discriminator.inputs[0], layers[weighted[-1] - 1].output, name="d_features")


# Each model's compiled inference function, per input shape (without the batch size): {model: {shape: function}}.
_PREDICT_FUNCTIONS = weakref.WeakKeyDictionary()


def predict_function(model, shape):
    """`model` in inference mode compiled for inputs of `shape` and any batch size, traced once and cached.

    `model.predict` traces a function for every new model and once more for its second batch size, and
    TensorFlow warns about "retracing" once that happens often (one count for all Keras models): running an
    analysis on freshly loaded models a few times in one process (a notebook) warns. A concrete function per
    model and input shape is traced once, when first asked for, and is not counted.

    Args:
        model: a Keras model with one input.
        shape: the shape of one input, without the batch dimension.

    Returns:
        A function of a float32 batch tensor giving the model's output tensor.
    """
    import tensorflow as tf

    functions = _PREDICT_FUNCTIONS.setdefault(model, {})
    shape = tuple(shape)
    if shape not in functions:
        reference = weakref.ref(model)  # the cache must not keep the model alive
        spec = tf.TensorSpec((None, *shape), tf.float32)
        functions[shape] = tf.function(lambda batch: reference()(batch, training=False)).get_concrete_function(spec)
    return functions[shape]


def predict(model, inputs, batch_size=256):
    """Run `model` in inference mode over `inputs` in batches; returns a float32 numpy array.

    On TensorFlow the model's compiled function is built once per model and input shape (`predict_function`);
    other backends use `model.predict`.
    """
    inputs = np.asarray(inputs, np.float32)
    if keras.backend.backend() != "tensorflow":
        return np.asarray(model.predict(inputs, batch_size=batch_size, verbose=0), np.float32)
    function = predict_function(model, inputs.shape[1:])
    batches = range(0, max(len(inputs), 1), batch_size)
    return np.concatenate([np.asarray(function(inputs[start : start + batch_size]), np.float32) for start in batches])


def interpolate(generator, discriminator=None, rows=4, steps=10, method="linear", seed=0, out=None):
    """Walk between random points of z and measure how evenly each walk changes (`dcgan.py interpolate`).

    Args:
        generator: a Keras generator, z -> image.
        discriminator: a Keras discriminator of the generator's images, to also measure smoothness in its
            features before the logit; None measures pixels only.
        rows: number of walks.
        steps: frames per walk, endpoints included, at least 3.
        method: "linear" or "slerp".
        seed: seed of the walks' endpoints.
        out: PNG file to write the grid of walks to (a row per walk); None writes no figure.

    Returns:
        dict: "method", "rows", "steps", "seed"; "pixel_smoothness" and "feature_smoothness" (the worst row's
        largest / mean step; feature ones None without a discriminator); the same per row
        ("pixel_smoothness_per_row", "feature_smoothness_per_row"); "out" (the figure's path as a string, or None).

    Raises:
        UserError: fewer than 1 row or 3 steps, an unknown method, or a discriminator of other images.
    """
    if rows < 1:
        raise UserError(f"rows must be a positive integer, not {rows}")
    if steps < 3:
        raise UserError(f"steps must be at least 3 to compare steps with each other, not {steps}")
    if method not in METHODS:
        raise UserError(f"unknown interpolation method {method!r}; choose one of {', '.join(METHODS)}")
    image_shape = tuple(generator.output_shape[1:])
    features = None
    if discriminator is not None:
        if tuple(discriminator.input_shape[1:]) != image_shape:
            raise UserError(f"discriminator takes images of shape {discriminator.input_shape[1:]}, not {image_shape}")
        features = discriminator_features(discriminator)
    z = latent_walks(rows, steps, generator.input_shape[-1], seed, method)
    images = predict(generator, z)
    pixel = walk_ratios(images, rows)
    feature = walk_ratios(predict(features, images), rows) if features is not None else None
    if out is not None:
        from utils.analysis.latent_plots import draw_smoothness_walks

        draw_smoothness_walks(images, pixel, feature, method, out)
    return {
        "method": method,
        "rows": rows,
        "steps": steps,
        "seed": seed,
        "pixel_smoothness": float(np.max(pixel)),
        "feature_smoothness": float(np.max(feature)) if feature is not None else None,
        "pixel_smoothness_per_row": pixel,
        "feature_smoothness_per_row": feature,
        "out": str(out) if out is not None else None,
    }
