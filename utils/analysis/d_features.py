"""D-feature classification (paper section 5.1): D's pooled conv features against raw pixels and an untrained D.

`d_feature_classification` scores the three feature sets of a labelled dataset with the linear L2-SVM
(standardised features, C chosen on a validation split held out of the training set) and returns the JSON
object `dcgan.py features` prints; `feature_protocols` runs it under both label protocols of the paper (all
labels, and a few per class averaged over seeded draws). Their bar charts are in `d_features_plots`.
"""

import time

import numpy as np

from utils.analysis.features import extract_features, feature_extractor, load_arrays, random_discriminator
from utils.analysis.svm import draw_per_class, fit_with_validation, predict, validation_split
from utils.errors import UserError

TITLES = {"d_features": "D features (trained)", "raw_pixels": "raw pixels", "random_d": "random D (untrained)"}


def feature_sets(discriminator, train_images, test_images, seed=0):
    """The three feature sets compared: trained D, raw pixels, the same D with random weights.

    Args:
        discriminator: a `keras.Sequential` discriminator of `utils.training.models`.
        train_images, test_images: (N, S, S, C) float32 in [-1, 1].
        seed: seed of the random D's weights.

    Returns:
        {name: (train features (N, D) float32, test features (M, D) float32)} in `TITLES` order.
    """
    sets = {}
    for name, model in (("d_features", discriminator), ("random_d", random_discriminator(discriminator, seed))):
        extractor = feature_extractor(model)
        sets[name] = (extract_features(extractor, train_images), extract_features(extractor, test_images))
    flat = [images.reshape(len(images), -1) for images in (train_images, test_images)]
    sets["raw_pixels"] = tuple(flat)
    return {name: sets[name] for name in TITLES}


def evaluate(sets, train_labels, test_labels, labels_per_class=None, draws=1, seed=0, log=print):
    """Score each feature set with the SVM protocol, on the same splits and label draws for all of them.

    Args:
        sets: {name: (train features, test features)}.
        train_labels, test_labels: integer labels.
        labels_per_class: labelled training examples per class, drawn per draw; None for all labels.
        draws: repetitions, draw d seeded with `seed + d` (its validation split and its labels).
        seed: base seed.
        log: called with one progress line per fit.

    Returns:
        ({name: {"accuracies": [per draw], "mean": float, "std": float or None (one draw), "c": [chosen C],
        "validation": [per draw {C tried: validation accuracy}]}}, {"train": N, "validation": M, "test": T}
        examples of the last draw).
    """
    results = {name: {"accuracies": [], "c": [], "validation": []} for name in sets}
    for draw in range(draws):
        pool, validation = validation_split(train_labels, seed + draw)
        train = pool if labels_per_class is None else draw_per_class(train_labels, pool, labels_per_class, seed + draw)
        for name, (train_x, test_x) in sets.items():
            model, scores = fit_with_validation(
                train_x[train], train_labels[train], train_x[validation], train_labels[validation]
            )
            accuracy = float((predict(model, test_x) == test_labels).mean())
            results[name]["accuracies"].append(accuracy)
            results[name]["c"].append(model.c)
            results[name]["validation"].append(scores)
            tried = ", ".join(f"{c:.3g}: {score:.4f}" for c, score in scores.items())
            log(
                f"draw {draw + 1}/{draws}: {TITLES.get(name, name)}: test accuracy {accuracy:.4f} (C={model.c:.3g}; "
                f"validation accuracy by C tried: {tried})"
            )
    for result in results.values():
        result["mean"] = float(np.mean(result["accuracies"]))
        result["std"] = float(np.std(result["accuracies"], ddof=1)) if draws > 1 else None
    return results, {"train": len(train), "validation": len(validation), "test": len(test_labels)}


def record(results, sets, sizes, protocol, labels_per_class, draws, seconds):
    """The JSON record of one protocol's results (what `dcgan.py features` prints last).

    Args:
        results, sizes: the two values `evaluate` returns.
        sets: the feature sets `evaluate` scored (for their dimensions).
        protocol: "all labels" or "<k> labels per class".
        labels_per_class: k, or None for all labels.
        draws: label draws averaged.
        seconds: time the analysis took.

    Returns:
        {name: mean test accuracy, "protocol", "labels_per_class", "draws", "std", "accuracies", "c",
        "validation", "feature_dims", "examples", "seconds"}.
    """
    return {
        **{key: result["mean"] for key, result in results.items()},
        "protocol": protocol,
        "labels_per_class": labels_per_class,
        "draws": draws,
        "std": {key: result["std"] for key, result in results.items()},
        "accuracies": {key: result["accuracies"] for key, result in results.items()},
        "c": {key: result["c"] for key, result in results.items()},
        "validation": {  # per draw, the validation accuracy of every C tried (the search stops after a drop)
            key: [{f"{c:.3g}": score for c, score in scores.items()} for scores in result["validation"]]
            for key, result in results.items()
        },
        "feature_dims": {key: int(sets[key][0].shape[1]) for key in results},
        "examples": sizes,
        "seconds": round(seconds, 1),
    }


def d_feature_classification(
    discriminator,
    dataset,
    data_dir=None,
    train_subset=None,
    test_subset=None,
    labels_per_class=None,
    draws=None,
    seed=0,
    out=None,
    log=print,
):
    """Score D's pooled conv features, raw pixels and the same D with random weights with a linear SVM.

    Args:
        discriminator: a loaded discriminator (`keras.Sequential` of `utils.training.models`) taking the
            dataset's images.
        dataset: a labelled dataset name or alias (mnist, fashion_mnist, cifar10, svhn_cropped).
        data_dir: IDX folder or tensorflow-datasets data_dir.
        train_subset: use only this many training examples, chosen with `seed`; all when None.
        test_subset: use only this many test examples, chosen with `seed` (quick runs); all when None.
        labels_per_class: labelled training examples per class per draw (paper's SVHN: 100); all when None.
        draws: label draws averaged (default 5 with `labels_per_class`, else 1).
        seed: seed of subsets, splits, draws and the random D.
        out: PNG path of a bar chart of the accuracies; None draws nothing.
        log: called with one progress line per SVM fit.

    Returns:
        The JSON object `dcgan.py features` prints (see `record`): "d_features", "raw_pixels", "random_d" (mean
        test accuracies), then "protocol", "labels_per_class", "draws", "std", "accuracies", "c", "validation",
        "feature_dims", "examples" and "seconds".

    Raises:
        UserError: the dataset has no labels, D takes other images, a subset or `labels_per_class` is too large.
    """
    from utils.data.registry import dataset_spec

    started = time.time()
    name, spec = dataset_spec(dataset)
    if not spec.labels:
        raise UserError(f"dataset {name!r} has no class labels; D-feature classification needs a labelled dataset")
    image_shape = (spec.image_size, spec.image_size, spec.channels)
    if tuple(discriminator.input_shape[1:]) != image_shape:
        raise UserError(
            f"discriminator {discriminator.name!r} takes images of shape {tuple(discriminator.input_shape[1:])}, "
            f"not {image_shape} ({name})"
        )
    draws = draws or (5 if labels_per_class else 1)
    try:
        train_x, train_y = load_arrays(name, data_dir, "train", train_subset, seed)
    except UserError as exc:  # the subset of the training split is --train-subset of `dcgan.py features`
        raise UserError(str(exc).replace("--subset", "--train-subset")) from None
    test_x, test_y = load_arrays(name, data_dir, "test")
    if test_subset is not None and test_subset < len(test_y):
        keep = np.sort(np.random.default_rng(seed).choice(len(test_y), test_subset, replace=False))
        test_x, test_y = test_x[keep], test_y[keep]
    sets = feature_sets(discriminator, train_x, test_x, seed)
    results, sizes = evaluate(sets, train_y, test_y, labels_per_class, draws, seed, log=log)
    protocol = f"{labels_per_class} labels per class" if labels_per_class else "all labels"
    if out is not None:
        from utils.analysis.d_features_plots import plot_accuracies

        title = f"{name}, {protocol}" + (f" ({draws} draws)" if draws > 1 else "")
        plot_accuracies(results, 1.0 / len(set(test_y.tolist())), title, out)
    return record(results, sets, sizes, protocol, labels_per_class, draws, time.time() - started)


def summary_lines(result):
    """One line per feature set of a `d_feature_classification` result: "<protocol>: <name>: <mean> +- <std>"."""
    lines = []
    for key in TITLES:
        spread = f" +- {result['std'][key]:.4f}" if result["std"][key] is not None else ""
        lines.append(f"{result['protocol']}: {key}: {result[key]:.4f}{spread}")
    return lines


def feature_protocols(
    discriminator,
    dataset,
    per_class=100,
    draws=5,
    data_dir=None,
    train_subset=None,
    test_subset=None,
    seed=0,
    log=print,
):
    """`d_feature_classification` under the paper's two label protocols: all labels, and `per_class` per class.

    Args:
        discriminator: a loaded discriminator.
        dataset: a labelled dataset name.
        per_class: labelled examples per class of the second protocol (100: the paper's 1,000 SVHN labels).
        draws: label draws averaged in the second protocol.
        data_dir, train_subset, test_subset, seed: as for `d_feature_classification`.
        log: progress lines, and after each protocol its `summary_lines`.

    Returns:
        {"all labels": result, "<per_class> per class": result}, each result as `d_feature_classification`'s.
    """
    results = {}
    for protocol, labels, count in (("all labels", None, 1), (f"{per_class} per class", per_class, draws)):
        results[protocol] = d_feature_classification(
            discriminator, dataset, data_dir, train_subset, test_subset, labels, count, seed, log=log
        )
        for line in summary_lines(results[protocol]):
            log(line)
    return results
