"""The bar chart of `dcgan.py fid`: a generator's FID and KID beside the real-vs-real floor."""

from matplotlib.figure import Figure

from utils.files import atomic_path


def plot_scores(result, path):
    """Write the model's FID and KID beside the floor's to `path` (PNG).

    Args:
        result: the dict `utils.analysis.fid.fid_kid` returns ("fid", "kid", "kid_std", "floor_fid",
            "floor_kid", "floor_kid_std", "features", "n").
        path: the PNG to write.
    """
    figure = Figure(figsize=(8, 3.4))
    for axis, key in zip(figure.subplots(1, 2), ("fid", "kid"), strict=True):
        values = [result[key], result[f"floor_{key}"]]
        errors = [result["kid_std"], result["floor_kid_std"]] if key == "kid" else [0.0, 0.0]
        bars = axis.bar(["generator", "real (floor)"], values, yerr=errors if key == "kid" else None, capsize=4)
        bars[1].set_color("tab:gray")
        tops = [value + error for value, error in zip(values, errors, strict=True)]
        for index, (value, top) in enumerate(zip(values, tops, strict=True)):
            axis.text(index, top, f"{value:.4g}", ha="center", va="bottom")
        axis.set_ylim(min(0.0, *(v - e for v, e in zip(values, errors, strict=True))) * 1.3, max(tops) * 1.15)
        axis.set(title=f"{key.upper()}, {result['features']} features, n = {result['n']}", ylabel=key.upper())
        axis.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    with atomic_path(path, "figure") as tmp:
        figure.savefig(tmp, dpi=100, format="png")
