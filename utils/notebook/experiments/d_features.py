"""D-feature classification (paper section 5.1) for the notebooks, which name the discriminator by its file.

The analysis is `utils.analysis.d_features` (it takes a loaded model); these wrappers also accept the path of
a saved discriminator, as the notebooks pass it. `plot_feature_protocols` is used as it is
(`utils.analysis.d_features_plots`, re-exported by `utils.notebook.experiments`).
"""

from pathlib import Path

from utils.analysis import d_features


def _loaded(discriminator):
    """`discriminator` itself, or the discriminator saved at that path."""
    if isinstance(discriminator, (str, Path)):
        from utils.training.saving import load_discriminator

        return load_discriminator(discriminator)
    return discriminator


def d_feature_classification(discriminator, dataset, log=print, **options):
    """`utils.analysis.d_features.d_feature_classification`, then its summary lines, for a model or its file.

    Args:
        discriminator: a loaded discriminator, or the path of a saved one.
        dataset: a labelled dataset name.
        log: progress lines, then one summary line per feature set ("<protocol>: <name>: <mean> +- <std>").
        **options: `data_dir`, `train_subset`, `test_subset`, `labels_per_class`, `draws`, `seed`, `out`.

    Returns:
        The JSON object `dcgan.py features` prints.
    """
    result = d_features.d_feature_classification(_loaded(discriminator), dataset, log=log, **options)
    for line in d_features.summary_lines(result):
        log(line)
    return result


def feature_protocols(discriminator, dataset, per_class=100, draws=5, **options):
    """`utils.analysis.d_features.feature_protocols` (all labels, and `per_class` per class) for a model or its file.

    Args:
        discriminator: a loaded discriminator, or the path of a saved one.
        dataset: a labelled dataset name.
        per_class: labelled examples per class of the second protocol.
        draws: label draws averaged in the second protocol.
        **options: `data_dir`, `train_subset`, `test_subset`, `seed`, `log`.

    Returns:
        {"all labels": result, "<per_class> per class": result}.
    """
    return d_features.feature_protocols(_loaded(discriminator), dataset, per_class, draws, **options)
