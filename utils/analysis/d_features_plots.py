"""Bar charts of D-feature classification (paper section 5.1): one label protocol, or both side by side."""

from matplotlib.figure import Figure

from utils.analysis.d_features import TITLES
from utils.files import atomic_path


def plot_accuracies(results, chance, title, path):
    """Bar chart of the mean test accuracies (error bars: standard deviation over draws) into `path` (PNG).

    Args:
        results: the first value `d_features.evaluate` returns ({name: {"mean", "std", ...}}).
        chance: the accuracy of guessing (dashed line).
        title: the chart's title.
        path: the PNG to write.
    """
    names = list(results)
    means = [results[name]["mean"] for name in names]
    spread = [results[name]["std"] for name in names]
    errors = None if all(std is None for std in spread) else [std or 0.0 for std in spread]
    figure = Figure(figsize=(6.4, 4.0))
    axis = figure.subplots()
    bars = axis.bar([TITLES.get(name, name) for name in names], means, yerr=errors, capsize=6, color="#4c72b0")
    axis.bar_label(bars, labels=[f"{mean:.3f}" for mean in means], padding=3)
    axis.axhline(chance, color="grey", linestyle="--", label=f"chance ({chance:.2f})")
    axis.set(ylim=(0, 1.05), ylabel="test accuracy", title=title)
    axis.legend(loc="lower right")
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=100, format="png")


def plot_feature_protocols(results, path, chance=0.1, title="D features vs baselines"):
    """Grouped bars: for each label protocol, the test accuracy of each feature set.

    Args:
        results: {protocol label: result of `d_feature_classification`} (keys d_features, raw_pixels,
            random_d with the mean accuracies, and "std" with their spread over draws), as
            `feature_protocols` returns.
        path: the PNG to write.
        chance: the accuracy of guessing (dashed line).
        title: the chart's title.
    """
    protocols = list(results)
    width = 0.8 / len(TITLES)
    figure = Figure(figsize=(3.0 + 2.4 * len(protocols), 4.2))
    axis = figure.subplots()
    for index, (key, name) in enumerate(TITLES.items()):
        means = [results[protocol][key] for protocol in protocols]
        errors = [(results[protocol].get("std") or {}).get(key) or 0.0 for protocol in protocols]
        positions = [p + (index - (len(TITLES) - 1) / 2) * width for p in range(len(protocols))]
        bars = axis.bar(positions, means, width, yerr=errors, capsize=4, label=name)
        axis.bar_label(bars, labels=[f"{mean:.3f}" for mean in means], padding=2, fontsize=8)
    axis.axhline(chance, color="grey", linestyle="--", label=f"chance ({chance:.2f})")
    axis.set_xticks(range(len(protocols)), protocols)
    axis.set(ylim=(0, 1.1), ylabel="test accuracy", title=title)
    axis.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=100, format="png")
