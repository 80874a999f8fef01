"""Walks through G's latent space: linear and spherical interpolation, walk grids, and their smoothness.

The paper (section 6.1) walks between random points of z and reads "no sharp transitions" as a sign that
G has not memorized its training images. `transition_ratio` makes that measurable: the largest distance
between consecutive frames of a walk divided by the mean distance. It is 1 when every step changes the
image equally and approaches steps - 1 when the whole change happens in one step.
"""

import keras
import numpy as np
from matplotlib.figure import Figure

from utils.errors import UserError
from utils.files import atomic_path
from utils.images import make_grid, to_uint8
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


def interpolate(z0, z1, steps, method="linear"):
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
    return np.concatenate([interpolate(ends[2 * row], ends[2 * row + 1], steps, method) for row in range(rows)])


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


def predict(model, inputs, batch_size=256):
    """Run `model` in inference mode over `inputs` in batches; returns a float32 numpy array."""
    return np.asarray(model.predict(np.asarray(inputs, np.float32), batch_size=batch_size, verbose=0), np.float32)


def draw_walks(images, rows, labels, title, path):
    """Write the walks as a grid, one walk per row, each row labelled on the left, to `path` (PNG).

    Args:
        images: (rows * steps, H, W, C) floats in [-1, 1], row after row.
        rows: number of walks.
        labels: one string per row (e.g. its smoothness numbers).
        title: one line above the grid.
        path: the PNG to write.
    """
    steps = len(images) // rows
    height = images.shape[1]
    grid = make_grid(to_uint8(images), columns=steps)
    margin, top, cell = 1.6, 0.4, 0.8  # inches: room for the row labels and the title, size of one frame
    width, total = margin + steps * cell, top + rows * cell
    figure = Figure(figsize=(width, total))
    axis = figure.add_axes((margin / width, 0, 1 - margin / width, 1 - top / total))
    axis.imshow(grid[..., 0] if grid.shape[-1] == 1 else grid, cmap="gray", vmin=0, vmax=255)
    axis.set_xticks([])
    axis.set_yticks([2 + row * (height + 2) + height / 2 for row in range(rows)], labels, fontsize=7)
    axis.tick_params(length=0)
    figure.suptitle(title, fontsize=9, y=1 - 0.08 / total)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=100, format="png")
