"""Figures of training progress."""

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from utils.files import atomic_path


def plot_history(rows, path):
    """Draw the loss curves and D's mean outputs per epoch into `path` (PNG).

    Args:
        rows: dicts with "epoch" and any of "d_loss", "g_loss", "d_real", "d_fake".
        path: the PNG to write.
    """
    epochs = [row["epoch"] for row in rows]
    figure = Figure(figsize=(10, 3.6))  # no pyplot: works without a display or global state
    losses, scores = figure.subplots(1, 2)
    for key, label in (("d_loss", "D loss"), ("g_loss", "G loss")):
        losses.plot(epochs, [row.get(key) for row in rows], marker="o", label=label)
    losses.set(xlabel="epoch", ylabel="binary cross-entropy", title="Losses")
    for key, label in (("d_real", "mean D(x), real"), ("d_fake", "mean D(G(z)), generated")):
        scores.plot(epochs, [row.get(key) for row in rows], marker="o", label=label)
    scores.set(xlabel="epoch", ylabel="probability of 'real'", ylim=(0, 1), title="Discriminator outputs")
    for axis in (losses, scores):
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.legend()
        axis.grid(alpha=0.3)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=100, format="png")
