"""Smoothness of latent walks, for comparing latent sizes (seed 002): `walk_smoothness`, `plot_smoothness`.

A walk is smooth when its frames change evenly: the largest step between frames over the mean step is 1.
"""

import statistics

from utils.errors import UserError


def walk_smoothness(generator, discriminator=None, walks=100, steps=10, seed=0, method="linear"):
    """Smoothness of `walks` latent walks: largest step between frames / mean step (1 = even), per walk.

    The same measure as `dcgan.py interpolate`, over many walks, summarised by the median and the worst.

    Args:
        generator: a generator model.
        discriminator: optionally D, to measure in its features before the logit too.
        walks: number of walks between random z pairs.
        steps: frames per walk, endpoints included (>= 3).
        seed: seed of the endpoints.
        method: "linear" or "slerp".

    Returns:
        {"pixel_median", "pixel_worst", "feature_median", "feature_worst" (None without D), "walks", "steps"}.
    """
    from utils.analysis.latent import discriminator_features, latent_walks, predict, walk_ratios

    if steps < 3:
        raise UserError(f"walks need at least 3 frames to compare steps, not {steps}")
    z = latent_walks(walks, steps, generator.input_shape[-1], seed, method)
    images = predict(generator, z)
    pixel = walk_ratios(images, walks)
    feature = None
    if discriminator is not None:
        feature = walk_ratios(predict(discriminator_features(discriminator), images), walks)
    return {
        "pixel_median": statistics.median(pixel),
        "pixel_worst": max(pixel),
        "feature_median": statistics.median(feature) if feature else None,
        "feature_worst": max(feature) if feature else None,
        "walks": walks,
        "steps": steps,
    }


def plot_smoothness(results, path, title="Smoothness of latent walks"):
    """Bars of the median walk smoothness (pixels and D features) per model, the worst walk as a black mark.

    Args:
        results: {label: `walk_smoothness` result}.
        path: the PNG to write.
        title: the chart's title.
    """
    from matplotlib.figure import Figure

    from utils.files import atomic_path

    labels = list(results)
    figure = Figure(figsize=(2.0 * len(labels) + 3.0, 4.2))
    axis = figure.subplots()
    spaces = [
        (space, name)
        for space, name in (("pixel", "pixels"), ("feature", "D features"))
        if results[labels[0]][f"{space}_median"] is not None
    ]
    width = 0.8 / len(spaces)
    for index, (space, name) in enumerate(spaces):
        positions = [p + (index - (len(spaces) - 1) / 2) * width for p in range(len(labels))]
        medians = [results[label][f"{space}_median"] for label in labels]
        bars = axis.bar(positions, medians, width, label=f"median walk, {name}")
        axis.bar_label(bars, labels=[f"{value:.2f}" for value in medians], padding=2, fontsize=8)
        worst = [results[label][f"{space}_worst"] for label in labels]
        axis.scatter(
            positions, worst, marker="_", s=300, color="black", zorder=3, label="worst walk" if index == 0 else None
        )
    axis.axhline(1.0, color="grey", linestyle="--", label="perfectly even (1)")
    axis.set_xticks(range(len(labels)), labels)
    walks = results[labels[0]]["walks"]
    axis.set(ylabel="largest / mean step between frames", title=f"{title} ({walks} walks each)")
    axis.legend(fontsize=8)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=100, format="png")
