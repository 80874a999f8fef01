"""D-feature classification (paper section 5.1) with a test subset and under both of the paper's label protocols.

`d_feature_classification` scores D's features, raw pixels and a random D as `dcgan.py features` does;
`feature_protocols` runs it with all labels and with a few per class; `plot_feature_protocols` draws both.
"""

import time
from pathlib import Path

import numpy as np

from utils.errors import UserError


def d_feature_classification(
    discriminator,
    name,
    data_dir=None,
    train_subset=None,
    test_subset=None,
    labels_per_class=None,
    draws=None,
    seed=0,
    out=None,
    log=print,
):
    """Paper section 5.1 as `dcgan.py features` does it, with a seeded test subset for quick (smoke) runs.

    D's conv layers max-pooled to 4x4 and concatenated, raw pixels and the same D with random weights, each
    scored by the linear L2-SVM with C chosen on a validation split of the training set.

    Args:
        discriminator: a loaded discriminator, or the path of a saved one.
        name: a labelled dataset (mnist, fashion_mnist, cifar10, svhn_cropped).
        data_dir: IDX folder or tensorflow-datasets data_dir.
        train_subset, test_subset: use only this many examples of each split (all when None).
        labels_per_class: labelled training examples per class per draw (paper's SVHN: 100); all when None.
        draws: label draws averaged (default 5 with `labels_per_class`, else 1).
        seed: seed of subsets, splits, draws and the random D.
        out: optional PNG bar chart of the accuracies.
        log: progress lines.

    Returns:
        The JSON object `dcgan.py features` prints: "d_features", "raw_pixels", "random_d" (mean test
        accuracies), "std", "accuracies", "c", "feature_dims", "examples", "protocol", "draws", "seconds".
    """
    from utils.analysis.features import load_arrays
    from utils.cli.features import evaluate, feature_sets, plot_accuracies, record
    from utils.data.registry import dataset_spec
    from utils.training.saving import load_discriminator

    started = time.perf_counter()
    name, spec = dataset_spec(name)
    if not spec.labels:
        raise UserError(f"dataset {name!r} has no class labels; D-feature classification needs a labelled dataset")
    if isinstance(discriminator, (str, Path)):
        discriminator = load_discriminator(discriminator)
    draws = draws or (5 if labels_per_class else 1)
    train_x, train_y = load_arrays(name, data_dir, "train", train_subset, seed)
    test_x, test_y = load_arrays(name, data_dir, "test")
    if test_subset is not None and test_subset < len(test_y):
        keep = np.sort(np.random.default_rng(seed).choice(len(test_y), test_subset, replace=False))
        test_x, test_y = test_x[keep], test_y[keep]
    sets = feature_sets(discriminator, train_x, test_x, seed)
    results, sizes = evaluate(sets, train_y, test_y, labels_per_class, draws, seed, log=log)
    protocol = f"{labels_per_class} labels per class" if labels_per_class else "all labels"
    if out is not None:
        title = f"{name}, {protocol}" + (f" ({draws} draws)" if draws > 1 else "")
        plot_accuracies(results, 1.0 / len(set(test_y.tolist())), title, out)
    for key, result in results.items():
        spread = f" +- {result['std']:.4f}" if result["std"] is not None else ""
        log(f"{protocol}: {key}: {result['mean']:.4f}{spread}")
    return record(results, sets, sizes, protocol, labels_per_class, draws, time.perf_counter() - started)


def feature_protocols(discriminator, name, per_class=100, draws=5, seed=0, log=print, **subsets):
    """`d_feature_classification` under the paper's two label protocols: all labels, and `per_class` per class.

    Args:
        discriminator: a loaded discriminator or the path of a saved one.
        name: a labelled dataset.
        per_class: labelled examples per class of the second protocol (100: the paper's 1,000 SVHN labels).
        draws: label draws averaged in the second protocol.
        seed: as for `d_feature_classification`.
        log: progress lines.
        **subsets: `train_subset`, `test_subset` and `data_dir` for `d_feature_classification`.

    Returns:
        {"all labels": result, "<per_class> per class": result}.
    """
    if isinstance(discriminator, (str, Path)):
        from utils.training.saving import load_discriminator

        discriminator = load_discriminator(discriminator)
    return {
        protocol: d_feature_classification(
            discriminator, name, labels_per_class=labels, draws=count, seed=seed, log=log, **subsets
        )
        for protocol, labels, count in (("all labels", None, 1), (f"{per_class} per class", per_class, draws))
    }


def plot_feature_protocols(results, path, chance=0.1, title="D features vs baselines"):
    """Grouped bars: for each label protocol, the test accuracy of each feature set (`dcgan.py features` JSON).

    Args:
        results: {protocol label: JSON result of `dcgan.py features`} (keys d_features, raw_pixels,
            random_d with the mean accuracies, and "std" with their spread over draws).
        path: the PNG to write.
        chance: the accuracy of guessing (dashed line).
        title: the chart's title.
    """
    from matplotlib.figure import Figure

    from utils.cli.features import TITLES
    from utils.files import atomic_path

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
