"""utils.notebook.experiments.comparison: the numbers that tell runs apart, as a table, and their curves and samples side by side."""

import csv

import numpy as np
import pytest
from PIL import Image

from utils.images import save_grid
from utils.notebook.experiments import comparison


def _png(path):
    with Image.open(path) as image:
        image.load()
        return image.size


def _history_run(folder, rows, x="epoch"):
    folder.mkdir(parents=True)
    with open(folder / "history.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    save_grid(np.zeros((4, 8, 8, 1)), folder / "samples" / "epoch_0001.png")
    return folder


def _row(epoch, d_real, d_fake, g_loss, **extra):
    return {"epoch": epoch, "d_loss": 1.0, "g_loss": g_loss, "d_real": d_real, "d_fake": d_fake, **extra}


def test_summarize_runs_counts_saturated_reports_and_the_g_loss_range(tmp_path):
    runs = {
        "saturating": _history_run(
            tmp_path / "a", [_row(1, 0.6, 0.4, 0.9), _row(2, 0.97, 0.02, 4.0), _row(3, 0.99, 0.01, 6.5)]
        ),
        "balanced": _history_run(tmp_path / "b", [_row(1, 0.6, 0.4, 0.7, diversity=0.3, step=50.0)]),
    }
    summary = comparison.summarize_runs(runs)
    assert summary["saturating"]["saturated"] == 2 and summary["balanced"]["saturated"] == 0
    assert (summary["saturating"]["g_loss_min"], summary["saturating"]["g_loss_max"]) == (0.9, 6.5)
    assert summary["saturating"]["epoch"] == 3 and summary["saturating"]["diversity"] is None
    assert comparison.summarize_runs(runs, x="step")["balanced"]["step"] == 50.0
    table = comparison.format_table(summary, ["epoch", "g_loss", "diversity"]).splitlines()
    assert table[0].split() == ["epoch", "g_loss", "diversity"]
    assert table[1].split() == ["saturating", "3", "6.5", "-"]
    with pytest.raises(FileNotFoundError):
        comparison.summarize_runs({"empty": tmp_path})


def test_plot_runs_puts_every_run_in_a_column(tmp_path):
    one = _history_run(tmp_path / "one", [_row(1, 0.6, 0.4, 0.9, step=10.0), _row(2, 0.7, 0.3, 1.1, step=20.0)])
    two = _history_run(tmp_path / "two", [_row(1, 0.5, 0.5, 0.8, step=10.0)])
    comparison.plot_runs({"one": one}, tmp_path / "1.png", "one run", x="step")
    comparison.plot_runs({"one": one, "two": two}, tmp_path / "2.png", "two runs", x="step")
    assert _png(tmp_path / "2.png")[0] > 1.5 * _png(tmp_path / "1.png")[0]
