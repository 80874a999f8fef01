"""The figure of `forget.forget`: the region masks, the samples before and after dropping the filters."""

from matplotlib.figure import Figure

from utils.files import atomic_path
from utils.images import make_grid

SHOWN = 32  # samples in each panel of the figure (4 rows of 8)


def draw_forget(masks, before, after, dropped, path):
    """Write the regions, before and after grids side by side to `path` (PNG).

    Args:
        masks: (N, S, S) bool region masks.
        before: (N, S, S, C) images in [-1, 1] drawn with every filter.
        after: (N, S, S, C) images in [-1, 1] drawn without the `dropped` filters.
        dropped: the dropped filters' indices (their count goes in the title).
        path: the PNG to write.
    """
    panels = [
        (make_grid(masks[:SHOWN, :, :, None].astype("uint8") * 255, columns=8), "region masks"),
        (make_grid(before[:SHOWN], columns=8), "before"),
        (make_grid(after[:SHOWN], columns=8), f"after dropping {len(dropped)} filters"),
    ]
    height, width = panels[0][0].shape[:2]
    figure = Figure(figsize=(12, 4 * height / width + 0.6))  # three panels of 4 inches, titles above
    for axis, (grid, title) in zip(figure.subplots(1, 3), panels, strict=True):
        axis.imshow(grid[..., 0] if grid.shape[-1] == 1 else grid, cmap="gray", vmin=0, vmax=255)
        axis.set_title(title)
        axis.axis("off")
    figure.tight_layout()
    with atomic_path(path, "figure") as tmp:
        figure.savefig(tmp, dpi=100, format="png")
