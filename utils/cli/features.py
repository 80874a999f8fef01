"""`dcgan.py features`: classify with D's pooled conv features, against raw pixels and an untrained D (paper 5.1)."""

import time
from pathlib import Path

from utils.cli.flags import add_data_flags, add_discriminator_flag, check_out_file, positive_int, print_result
from utils.errors import UserError

TITLES = {"d_features": "D features (trained)", "raw_pixels": "raw pixels", "random_d": "random D (untrained)"}


def register(commands):
    """Add the `features` subcommand to `commands` (argparse subparsers)."""
    parser = commands.add_parser(
        "features",
        help="score D's features with a linear SVM against raw pixels and an untrained D",
        description="Paper section 5.1: every conv layer of D max-pooled to 4x4, flattened and concatenated, "
        "classified by a linear L2-SVM (standardised features, C chosen on a validation split held out of the "
        "training set), next to raw pixels and the same D architecture with random weights. Prints a table and, "
        "last, one JSON line with the test accuracies.",
    )
    add_discriminator_flag(parser)
    add_data_flags(parser)
    parser.add_argument(
        "--labels-per-class",
        type=positive_int,
        help="train on this many labelled examples per class, drawn at random (paper's SVHN: 100); default: all",
    )
    parser.add_argument(
        "--draws",
        type=positive_int,
        help="seeded random label draws to average (default 5 with --labels-per-class, else 1)",
    )
    parser.add_argument("--train-subset", type=positive_int, help="use only this many training examples (for speed)")
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of subsets, splits, draws and the random D (default 0)"
    )
    parser.add_argument("--out", help="optional PNG bar chart of the accuracies")
    parser.set_defaults(func=run)


def feature_sets(discriminator, train_images, test_images, seed=0):
    """The three feature sets compared: trained D, raw pixels, the same D with random weights.

    Returns:
        {name: (train features (N, D) float32, test features (M, D) float32)} in `TITLES` order.
    """
    from utils.analysis.features import extract_features, feature_extractor, random_discriminator

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
    import numpy as np

    from utils.analysis.svm import draw_per_class, fit_with_validation, predict, validation_split

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


def plot_accuracies(results, chance, title, path):
    """Bar chart of the mean test accuracies (error bars: standard deviation over draws) into `path` (PNG)."""
    from matplotlib.figure import Figure

    from utils.files import atomic_path

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


def record(results, sets, sizes, protocol, labels_per_class, draws, seconds):
    """The JSON record of one protocol's results (what `features` prints last)."""
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


def run(args):
    """Run `dcgan.py features`; returns the exit code."""
    started = time.time()
    out = check_out_file(args.out) if args.out else None
    from utils.data.registry import dataset_spec

    name, spec = dataset_spec(args.dataset)
    if not spec.labels:
        raise UserError(f"dataset {name!r} has no class labels; 'features' needs a labelled dataset")
    if args.data_dir and not Path(args.data_dir).is_dir():
        raise UserError(f"--data-dir {args.data_dir} is not a folder")
    if not Path(args.discriminator).is_file():  # fail before TensorFlow loads
        raise UserError(f"model file {args.discriminator} does not exist")
    draws = args.draws or (5 if args.labels_per_class else 1)

    from utils.analysis.features import load_arrays
    from utils.training.saving import load_discriminator

    discriminator = load_discriminator(args.discriminator, (spec.image_size, spec.image_size, spec.channels))
    try:
        train_x, train_y = load_arrays(name, args.data_dir, "train", args.train_subset, args.seed)
    except UserError as exc:
        raise UserError(str(exc).replace("--subset", "--train-subset")) from None
    test_x, test_y = load_arrays(name, args.data_dir, "test")
    sets = feature_sets(discriminator, train_x, test_x, args.seed)
    results, sizes = evaluate(
        sets, train_y, test_y, args.labels_per_class, draws, args.seed, log=lambda line: print(line, flush=True)
    )

    per_class = f"{args.labels_per_class} labels per class" if args.labels_per_class else "all labels"
    print(
        f"\n{name}: {per_class}, {sizes['train']} training / {sizes['validation']} validation / "
        f"{sizes['test']} test examples, {draws} draw{'s' if draws > 1 else ''}"
    )
    print(f"{'features':<22} {'dims':>6}  {'test accuracy':<17} C chosen on validation")
    for key, result in results.items():
        spread = f" ± {result['std']:.4f}" if result["std"] is not None else ""
        chosen = ", ".join(f"{c:.3g}" for c in result["c"])
        print(f"{TITLES[key]:<22} {sets[key][0].shape[1]:>6}  {result['mean']:.4f}{spread:<10} {chosen}")
    if out:
        title = f"{name}, {per_class}" + (f" ({draws} draws)" if draws > 1 else "")
        plot_accuracies(results, 1.0 / len(set(test_y.tolist())), title, out)
        print(f"wrote {out}")
    print_result(record(results, sets, sizes, per_class, args.labels_per_class, draws, time.time() - started))
    return 0
