"""The figure of `latent.interpolate`: a grid of latent walks, one walk per row, labelled with its smoothness."""

from matplotlib.figure import Figure

from utils.files import atomic_path
from utils.images import make_grid, to_uint8


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


def draw_smoothness_walks(images, pixel, feature, method, path):
    """Write the walks of `latent.interpolate` to `path`, each row labelled with its smoothness ratios.

    Args:
        images: (rows * steps, H, W, C) floats in [-1, 1], row after row.
        pixel: each row's smoothness in pixels (largest / mean step).
        feature: each row's smoothness in D's features, or None.
        method: the interpolation method, for the title.
        path: the PNG to write.
    """
    labels = [
        f"pixels {ratio:.2f}" + ("" if feature is None else f"\nD features {feature[row]:.2f}")
        for row, ratio in enumerate(pixel)
    ]
    title = f"{method} walks between random z; per row: largest / mean step between frames (1 = even)"
    draw_walks(images, len(pixel), labels, title, path)
