"""The figures of `utils.analysis.neighbours`: generated samples beside their nearest training images, and the
nearest-neighbour distance histograms, generated-to-train against test-to-train."""

import numpy as np
from matplotlib.figure import Figure

from utils.files import atomic_path


def _show(axis, image, label=None, title=None):
    """Draw one (S, S, C) image in [-1, 1] without ticks, with an optional label below and title above."""
    if image.shape[-1] == 1:
        axis.imshow(image[..., 0], cmap="gray", vmin=-1, vmax=1)
    else:
        axis.imshow(((image + 1) / 2).clip(0, 1))
    axis.set_xticks([])
    axis.set_yticks([])
    if label is not None:
        axis.set_xlabel(label, fontsize=7)
    if title is not None:
        axis.set_title(title, fontsize=8)


def plot_neighbours(generated, train, found, path):
    """Grid figure: each row a generated image, then its nearest training images in each space.

    Args:
        generated: (R, S, S, C) images in [-1, 1], one per row.
        train: the training images the indices point into.
        found: {space name: (distances (R, k), indices (R, k))}.
        path: the PNG to write.
    """
    columns = 1 + sum(indices.shape[1] for _, indices in found.values())
    figure = Figure(figsize=(1.0 * columns, 1.15 * len(generated) + 0.4))
    axes = figure.subplots(len(generated), columns, squeeze=False)
    for row, image in enumerate(generated):
        _show(axes[row, 0], image, title="generated" if row == 0 else None)
        column = 1
        for space, (distances, indices) in found.items():
            for rank, (distance, index) in enumerate(zip(distances[row], indices[row], strict=True)):
                title = f"{space} NN {rank + 1}" if row == 0 else None
                _show(axes[row, column], train[index], label=f"{distance:.3f}", title=title)
                column += 1
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=100, format="png")


def plot_distances(distances, results, path):
    """Histograms of nearest-training-image distances, generated against test, one panel per space.

    Args:
        distances: {space: (generated distances, test distances)}.
        results: {space: `utils.analysis.neighbours.compare` result}.
        path: the PNG to write.
    """
    figure = Figure(figsize=(5.5 * len(distances), 3.8))
    axes = figure.subplots(1, len(distances), squeeze=False)[0]
    for axis, (space, (generated, test)) in zip(axes, distances.items(), strict=True):
        result = results[space]
        bins = np.linspace(0, max(generated.max(), test.max()) * 1.02, 40)
        axis.hist(test, bins, alpha=0.6, label=f"test to train (median {result['median_test']:.3f})")
        axis.hist(generated, bins, alpha=0.6, label=f"generated to train (median {result['median_generated']:.3f})")
        axis.axvline(result["threshold"], color="black", linestyle=":", label="near-duplicate threshold")
        axis.set(
            xlabel="distance to nearest training image (RMS per dimension)",
            ylabel="count",
            title=f"{space} space: ratio {result['ratio']:.2f}, near-duplicates {100 * result['near_duplicates']:.1f}%",
        )
        axis.legend(fontsize=8)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=100, format="png")
