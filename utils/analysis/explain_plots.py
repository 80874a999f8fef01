"""The figures of `utils.analysis.explain`: images with Grad-CAM overlays and guided backprop; D's top filters."""

import numpy as np
from matplotlib.figure import Figure

from utils.files import atomic_path


def _show(axis, image, low=-1.0, high=1.0):
    """Draw one (S, S, C) image (C = 1: grey; C = 3: RGB, uint8 or floats in [low, high]) without ticks."""
    image = np.asarray(image)
    if image.shape[-1] == 1:
        axis.imshow(image[..., 0], cmap="gray", vmin=low, vmax=high, interpolation="nearest")
    else:
        rgb = image if image.dtype == np.uint8 else np.clip((image - low) / (high - low), 0, 1)
        axis.imshow(rgb, interpolation="nearest")
    axis.set_xticks([])
    axis.set_yticks([])


def _save(figure, path):
    """Write `figure` to the PNG `path` (crash-safe)."""
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=100, format="png")


def plot_explanations(sections, path):
    """Draw, for each section (real, generated), three rows: the images, Grad-CAM overlays, guided backprop.

    Args:
        sections: list of (title, `explain_images` result) pairs.
        path: the PNG to write.
    """
    columns = max(len(result["images"]) for _, result in sections)
    rows = 3 * len(sections)
    figure = Figure(figsize=(1.3 * columns + 1.2, 1.45 * rows))
    axes = figure.subplots(rows, columns, squeeze=False)
    for section, (title, result) in enumerate(sections):
        lines = [
            (f"{title}\nimage", result["images"], -1.0),
            ("Grad-CAM", result["overlays"], 0.0),
            ("guided\nbackprop", result["guided"], 0.0),
        ]
        for offset, (label, pictures, low) in enumerate(lines):
            row = axes[3 * section + offset]
            for column, axis in enumerate(row):
                if column >= len(pictures):
                    axis.axis("off")
                    continue
                _show(axis, pictures[column], low=low)
                if offset == 0:
                    axis.set_title(f"logit {result['logits'][column]:+.2f}", fontsize=8)
            row[0].set_ylabel(label, fontsize=9)
    figure.suptitle(
        "Where D's 'real' logit comes from (Grad-CAM on its last convolution, guided backprop)", fontsize=11
    )
    figure.tight_layout()
    _save(figure, path)


def plot_filters(filters, layer_name, source, path):
    """Draw one row per filter: its top images, each followed by its guided-backprop map.

    Args:
        filters: the `explain_filters` result.
        layer_name: the layer holding the filters, for the title.
        source: what the ranked images were ("real" or "generated"), for the title.
        path: the PNG to write.
    """
    columns = 2 * max(len(entry["images"]) for entry in filters)
    figure = Figure(figsize=(1.1 * columns + 1.2, 1.3 * len(filters) + 0.6))
    axes = figure.subplots(len(filters), columns, squeeze=False)
    for row, entry in zip(axes, filters, strict=True):
        for column, axis in enumerate(row):
            pair, kind = divmod(column, 2)
            if pair >= len(entry["images"]):
                axis.axis("off")
                continue
            if kind == 0:
                _show(axis, entry["images"][pair])
                axis.set_title(f"act {entry['scores'][pair]:.2f}", fontsize=7)
            else:
                _show(axis, entry["guided"][pair], low=0.0)
        row[0].set_ylabel(f"filter {entry['filter']}\nmean {entry['mean']:.2f}", fontsize=8)
    figure.suptitle(
        f"Top filters of {layer_name} on {source} images: image, then guided backprop of the filter", fontsize=10
    )
    figure.tight_layout()
    _save(figure, path)
