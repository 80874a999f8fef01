"""The figures of `arithmetic.vector_arithmetic`: the numbered candidate grid and the paper-style arithmetic figure."""

import math

import numpy as np
from matplotlib.figure import Figure

from utils.analysis.arithmetic import CENTRE
from utils.files import atomic_path
from utils.images import make_grid, to_uint8


def predicted_labels(probabilities, attributes):
    """Short labels of what the classifier sees: "c7 0.93" (class and probability) or "+1,3" (attributes > 0.5)."""
    probabilities = np.asarray(probabilities)
    if attributes or probabilities.shape[1] == 1:
        return [
            "+" + ",".join(map(str, np.flatnonzero(row > 0.5))) if (row > 0.5).any() else "none"
            for row in probabilities
        ]
    return [f"c{row.argmax()} {row.max():.2f}" for row in probabilities]


def candidate_labels(probabilities, attributes, count):
    """Labels of the numbered candidates: "12", or "12: c7 0.93" with the classifier's `probabilities`.

    Args:
        probabilities: (count, K) class probabilities, or None without a classifier.
        attributes: whether the outputs are independent attributes.
        count: number of candidates.

    Returns:
        List of `count` strings.
    """
    if probabilities is None:
        return [str(index) for index in range(count)]
    return [f"{index}: {label}" for index, label in enumerate(predicted_labels(probabilities, attributes))]


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


def concept_captions(name, concept):
    """Labels of one concept's samples ("#17 p=0.98") and its row title ("A: class 7").

    Args:
        name: the concept's letter, "a", "b" or "c".
        concept: its dict of "indices", "class" (spec text or None) and "confidence" (list or None).

    Returns:
        (list of labels, title).
    """
    scores = concept["confidence"] or [None] * len(concept["indices"])
    labels = [
        f"#{index}" + ("" if p is None else f" p={p:.2f}") for index, p in zip(concept["indices"], scores, strict=True)
    ]
    title = name.upper() + (f": class {concept['class']}" if concept["class"] else "")
    return labels, title


def draw_concepts(samples, concepts, means, results, probabilities, attributes, noise_scale, path):
    """Write the arithmetic figure of `vector_arithmetic`'s picked concepts to `path` (see `draw_arithmetic`).

    Args:
        samples: three (k, H, W, C) arrays, the images of A, B and C.
        concepts: {"a", "b", "c": their dicts of "indices", "class" and "confidence"}.
        means: (3, H, W, C) images of the three mean vectors.
        results: (9, H, W, C) images of A - B + C and its neighbours.
        probabilities: the classifier's (9, K) probabilities of the results, or None.
        attributes: whether the outputs are independent attributes.
        noise_scale: half-width of the neighbours' noise.
        path: the PNG to write.
    """
    captions, titles = zip(*(concept_captions(name, concepts[name]) for name in ("a", "b", "c")), strict=True)
    result_labels = predicted_labels(probabilities, attributes) if probabilities is not None else None
    draw_arithmetic(samples, captions, titles, means, results, result_labels, noise_scale, path)
