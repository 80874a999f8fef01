"""Vector arithmetic on z (paper section 6.3): concepts as mean z, A - B + C, and picking concepts by a classifier.

As in the paper, each concept is the mean of at least three z vectors whose images show it; the result
z = mean(A) - mean(B) + mean(C) is decoded together with eight neighbours z + U(-scale, scale) noise.
Concepts are given either as indices into a seeded grid of candidates, or as a class (or attribute) spec
that a classifier's most confident candidates are picked for:

    "7"          class 7 (softmax outputs; single-label)
    "31=1,20=0"  attribute 31 present and attribute 20 absent (independent sigmoid outputs; multi-label)
"""

import math

import numpy as np
from matplotlib.figure import Figure

from utils.errors import UserError
from utils.files import atomic_path
from utils.images import make_grid, to_uint8

MIN_SAMPLES = 3
RESULTS = 9  # the centre image and eight noisy neighbours, drawn as a 3x3 grid
CENTRE = RESULTS // 2


def class_probabilities(outputs, attributes):
    """Turn classifier outputs into probabilities.

    Outputs already in [0, 1] are taken as probabilities (softmax or sigmoid); anything else as logits,
    through a sigmoid per output for attribute specs or for a single output unit, else a softmax.

    Args:
        outputs: (N, K) classifier outputs.
        attributes: whether the outputs are independent attributes.

    Returns:
        (N, K) float64 probabilities.
    """
    outputs = np.asarray(outputs, np.float64)
    if outputs.min() >= 0.0 and outputs.max() <= 1.0:
        return outputs
    if attributes or outputs.shape[1] == 1:
        return 1.0 / (1.0 + np.exp(-outputs))
    shifted = np.exp(outputs - outputs.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def confidence(probabilities, pairs):
    """Probability that each image shows the spec: product of p (wanted 1) or 1 - p (wanted 0) per output.

    Returns:
        (N,) float64 array.
    """
    probabilities = np.asarray(probabilities, np.float64)
    wanted = [probabilities[:, index] if value else 1.0 - probabilities[:, index] for index, value in pairs]
    return np.prod(wanted, axis=0)


def pick_confident(probabilities, pairs, count):
    """The `count` candidates the classifier is most confident show the spec, most confident first.

    Returns:
        (indices list, their confidences list).
    """
    scores = confidence(probabilities, pairs)
    if count > len(scores):
        raise UserError(f"asked for {count} samples per concept but there are only {len(scores)} candidates")
    order = np.argsort(-scores, kind="stable")[:count]
    return [int(index) for index in order], [float(scores[index]) for index in order]


def matches(probabilities, pairs, attributes):
    """Whether each image is classified as the spec: argmax == class, or every attribute thresholded at 0.5."""
    probabilities = np.asarray(probabilities)
    if not attributes:
        return probabilities.argmax(axis=1) == pairs[0][0]
    return np.all([(probabilities[:, index] > 0.5) == bool(value) for index, value in pairs], axis=0)


def predicted_histogram(probabilities, attributes):
    """How many images each class is predicted for (argmax), or each attribute is present in (p > 0.5).

    Returns:
        Dict from class or attribute index (as str, for JSON) to count, classes with zero left out.
    """
    probabilities = np.asarray(probabilities)
    if attributes or probabilities.shape[1] == 1:
        counts = (probabilities > 0.5).sum(axis=0)
    else:
        counts = np.bincount(probabilities.argmax(axis=1), minlength=probabilities.shape[1])
    return {str(index): int(count) for index, count in enumerate(counts) if count}


def predicted_labels(probabilities, attributes):
    """Short labels of what the classifier sees: "c7 0.93" (class and probability) or "+1,3" (attributes > 0.5)."""
    probabilities = np.asarray(probabilities)
    if attributes or probabilities.shape[1] == 1:
        return [
            "+" + ",".join(map(str, np.flatnonzero(row > 0.5))) if (row > 0.5).any() else "none"
            for row in probabilities
        ]
    return [f"c{row.argmax()} {row.max():.2f}" for row in probabilities]


def concept_mean(z, indices):
    """Mean of the latent vectors `z[indices]`; (latent_dim,) float32."""
    return np.asarray(z, np.float64)[list(indices)].mean(axis=0).astype(np.float32)


def combine(a, b, c):
    """The arithmetic A - B + C of three concept vectors."""
    return (np.asarray(a, np.float64) - np.asarray(b, np.float64) + np.asarray(c, np.float64)).astype(np.float32)


def with_neighbours(centre, scale, seed=0):
    """`centre` and eight neighbours centre + U(-scale, scale) noise, centre in the middle of the 3x3 grid.

    Args:
        centre: (latent_dim,) vector.
        scale: half-width of the uniform noise (the paper used 0.25).
        seed: seed of the noise.

    Returns:
        (9, latent_dim) float32 array; row `CENTRE` is `centre` itself.
    """
    centre = np.asarray(centre, np.float32)
    noise = np.random.default_rng(seed).uniform(-scale, scale, (RESULTS, len(centre))).astype(np.float32)
    noise[CENTRE] = 0.0
    return centre[None, :] + noise


def _show(axis, image):
    """Draw one (H, W, C) image on `axis` without ticks."""
    image = to_uint8(image) if image.dtype != np.uint8 else image
    if image.shape[-1] == 1:
        axis.imshow(image[..., 0], cmap="gray", vmin=0, vmax=255)
    else:
        axis.imshow(image)
    axis.set_xticks([])
    axis.set_yticks([])


def _save(figure, path):
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=100, format="png")


def draw_candidates(images, labels, path):
    """Write the candidate images as one grid, each labelled with its index (and predicted class), to `path`.

    Args:
        images: (N, H, W, C) floats in [-1, 1].
        labels: N strings drawn in the top-left corner of each image.
        path: the PNG to write.
    """
    columns = math.ceil(math.sqrt(len(images)))
    rows = math.ceil(len(images) / columns)
    height, width = images.shape[1:3]
    figure = Figure(figsize=(columns * 0.9, rows * 0.9))
    axis = figure.add_axes((0, 0, 1, 1))
    _show(axis, make_grid(images, columns))
    axis.axis("off")
    for index, label in enumerate(labels):
        top, left = 2 + (index // columns) * (height + 2), 2 + (index % columns) * (width + 2)
        axis.text(left, top, label, fontsize=7, color="yellow", va="top", ha="left", backgroundcolor=(0, 0, 0, 0.5))
    _save(figure, path)


def draw_arithmetic(samples, captions, titles, means, results, result_captions, noise_scale, path):
    """Write the paper-style figure: rows A, B, C of samples and their mean's image, then the 3x3 result grid.

    Args:
        samples: three (k, H, W, C) arrays in [-1, 1], the samples of A, B and C.
        captions: three lists of k strings, written under the samples.
        titles: three row titles.
        means: (3, H, W, C) images of the three mean vectors.
        results: (9, H, W, C) images of A - B + C (index `CENTRE`) and its neighbours.
        result_captions: 9 strings written under the results (e.g. the classifier's prediction), or None.
        noise_scale: half-width of the neighbours' noise, for the title.
        path: the PNG to write.
    """
    width = max(len(images) for images in samples)
    figure = Figure(figsize=(1.1 * (width + 4.5), 4.4))
    grid = figure.add_gridspec(3, width + 5, width_ratios=[1] * (width + 1) + [0.5] + [1] * 3)
    for row, (images, labels, title) in enumerate(zip(samples, captions, titles, strict=True)):
        for column, (image, label) in enumerate(zip(images, labels, strict=True)):
            axis = figure.add_subplot(grid[row, column])
            _show(axis, image)
            axis.set_xlabel(label, fontsize=7)
            if column == 0:
                axis.set_ylabel(title, fontsize=8)
        axis = figure.add_subplot(grid[row, width])
        _show(axis, means[row])
        axis.set_xlabel("mean z", fontsize=7, fontweight="bold")
    for index, image in enumerate(results):
        axis = figure.add_subplot(grid[index // 3, width + 2 + index % 3])
        _show(axis, image)
        axis.set_xlabel(result_captions[index] if result_captions else "", fontsize=7)
        if index == CENTRE:
            label = "A - B + C" + (f"\n{result_captions[index]}" if result_captions else "")
            axis.set_xlabel(label, fontsize=7, fontweight="bold")
            for spine in axis.spines.values():
                spine.set(color="red", linewidth=2)
    figure.suptitle(
        f"Vector arithmetic on z: G(mean A - mean B + mean C) in the centre, 8 neighbours with U(-{noise_scale:g}, "
        f"{noise_scale:g}) noise",
        fontsize=9,
    )
    figure.tight_layout()
    _save(figure, path)
