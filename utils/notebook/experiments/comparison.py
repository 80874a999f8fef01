"""The runs of a study side by side: `summarize_runs` and `format_table` for the numbers, `plot_runs` for figures.

Each run is a folder of `utils.training.train.train` or `train_for_steps`; the numbers come from its history.csv, the
pictures from its last sample grid. The BatchNorm, training-set size, latent size and 128x128 studies use them.
"""

from pathlib import Path

SATURATED = (0.95, 0.05)  # mean D(x) above, mean D(G(z)) below: D wins outright (utils.training.diagnostics' warning)


def summarize_runs(runs, x="epoch"):
    """The numbers that tell the runs of an experiment apart, from their history.csv.

    Args:
        runs: {label: run folder}.
        x: "epoch" or "step" (the length of the run).

    Returns:
        {label: {x: length, "d_loss", "g_loss", "d_real", "d_fake", "diversity" (last report; None when not
        logged), "g_loss_min", "g_loss_max" (over reports), "saturated" (reports with D(x) > 0.95 and
        D(G(z)) < 0.05)}}.
    """
    from utils.training.callbacks import read_history

    summary = {}
    for label, run_dir in runs.items():
        rows = read_history(Path(run_dir) / "history.csv")
        if not rows:
            raise FileNotFoundError(f"no history.csv rows in {run_dir}")
        last = rows[-1]
        summary[label] = {
            x: last.get(x, last["epoch"]),
            **{key: last.get(key) for key in ("d_loss", "g_loss", "d_real", "d_fake", "diversity")},
            "g_loss_min": min(row["g_loss"] for row in rows),
            "g_loss_max": max(row["g_loss"] for row in rows),
            "saturated": sum(row["d_real"] > SATURATED[0] and row["d_fake"] < SATURATED[1] for row in rows),
        }
    return summary


def format_table(rows, columns=None):
    """A plain-text table of {label: {column: value}}: floats with 4 significant digits, None as "-".

    Returns:
        The table as one string (print it).
    """
    columns = columns or list(dict.fromkeys(key for row in rows.values() for key in row))

    def text(value):
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:.4g}"
        return str(value)

    cells = [["", *columns]] + [[label, *(text(row.get(column)) for column in columns)] for label, row in rows.items()]
    widths = [max(len(line[index]) for line in cells) for index in range(len(cells[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in cells
    )


def _last_grid(run_dir):
    grids = sorted(Path(run_dir).glob("samples/epoch_*.png"))
    if not grids:
        raise FileNotFoundError(f"no samples/epoch_*.png in {run_dir}")
    return grids[-1]


def plot_runs(runs, path, title, x="epoch"):
    """Several runs side by side: each column a run's D and G loss curves above its last sample grid.

    Args:
        runs: {label: run folder} (folders of `utils.training.train.train` or `train_for_steps`).
        path: the PNG to write.
        title: the figure's title.
        x: the history column on the horizontal axis ("epoch", or "step" for `train_for_steps` runs).
    """
    from matplotlib.figure import Figure
    from PIL import Image

    from utils.files import atomic_path
    from utils.training.callbacks import read_history

    figure = Figure(figsize=(3.6 * len(runs), 7.2))
    axes = figure.subplots(2, len(runs), squeeze=False)
    top = 0.0
    for column, (label, run_dir) in enumerate(runs.items()):
        rows = read_history(Path(run_dir) / "history.csv")
        if not rows:
            raise FileNotFoundError(f"no history.csv rows in {run_dir}")
        curves = axes[0, column]
        for key, name in (("d_loss", "D loss"), ("g_loss", "G loss")):
            values = [row.get(key) for row in rows]
            curves.plot([row.get(x, row["epoch"]) for row in rows], values, marker=".", label=name)
            top = max(top, *(value for value in values if value is not None))
        curves.set(title=label, xlabel=x)
        curves.grid(alpha=0.3)
        curves.legend(fontsize=8)
        with Image.open(_last_grid(run_dir)) as grid:
            axes[1, column].imshow(grid.convert("RGB"))
        axes[1, column].set_title(f"samples after {rows[-1].get(x, rows[-1]['epoch']):g} {x}s", fontsize=9)
        axes[1, column].axis("off")
    for column in range(len(runs)):
        axes[0, column].set_ylim(0, top * 1.05)
    axes[0, 0].set_ylabel("binary cross-entropy")
    figure.suptitle(title)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=100, format="png")
