"""`dcgan.py neighbours`: nearest training images of generated samples, and a memorization verdict."""

import time
from pathlib import Path

from utils.cli.flags import (
    add_data_flags,
    add_discriminator_flag,
    add_generator_flag,
    add_out_flag,
    check_out_file,
    positive_int,
    print_result,
)
from utils.errors import UserError


def register(commands):
    """Add the `neighbours` subcommand to `commands` (argparse subparsers)."""
    parser = commands.add_parser(
        "neighbours",
        help="nearest training images of generated samples, and a memorization check",
        description="For --n generated samples, find the nearest training images in pixel space (and in D's "
        "pooled conv features with --discriminator). Writes a grid (each row: a generated image, then its --k "
        "nearest training images) to --out and the nearest-neighbour distance histograms, generated-to-train "
        "against test-to-train, to <out stem>_distances.png; prints a verdict and, last, one JSON line.",
    )
    add_generator_flag(parser)
    add_discriminator_flag(parser, required=False)
    add_data_flags(parser)
    parser.add_argument(
        "--n", type=positive_int, default=1000, help="generated samples (and test images) (default 1000)"
    )
    parser.add_argument("--k", type=positive_int, default=5, help="nearest training images shown per row (default 5)")
    parser.add_argument("--rows", type=positive_int, default=8, help="generated samples shown in the grid (default 8)")
    parser.add_argument("--train-subset", type=positive_int, help="search only this many training images (for speed)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the noise and of the subsets (default 0)")
    add_out_flag(parser, "grid of nearest neighbours")
    parser.set_defaults(func=run)


def _show(axis, image, label=None, title=None):
    if image.shape[-1] == 1:
        axis.imshow(image[..., 0], cmap="gray", vmin=-1, vmax=1)
    else:
        axis.imshow(((image + 1) / 2).clip(0, 1))
    axis.set_xticks([])
    axis.set_yticks([])
    if label is not None:
        axis.set_xlabel(label, fontsize=7)
    if title is not None:
        axis.set_title(title, fontsize=8)


def plot_neighbours(generated, train, found, path):
    """Grid figure: each row a generated image, then its nearest training images in each space.

    Args:
        generated: (R, S, S, C) images in [-1, 1], one per row.
        train: the training images the indices point into.
        found: {space name: (distances (R, k), indices (R, k))}.
        path: the PNG to write.
    """
    from matplotlib.figure import Figure

    from utils.files import atomic_path

    columns = 1 + sum(indices.shape[1] for _, indices in found.values())
    figure = Figure(figsize=(1.0 * columns, 1.15 * len(generated) + 0.4))
    axes = figure.subplots(len(generated), columns, squeeze=False)
    for row, image in enumerate(generated):
        _show(axes[row, 0], image, title="generated" if row == 0 else None)
        column = 1
        for space, (distances, indices) in found.items():
            for rank, (distance, index) in enumerate(zip(distances[row], indices[row], strict=True)):
                title = f"{space} NN {rank + 1}" if row == 0 else None
                _show(axes[row, column], train[index], label=f"{distance:.3f}", title=title)
                column += 1
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=100, format="png")


def plot_distances(distances, results, path):
    """Histograms of nearest-training-image distances, generated against test, one panel per space.

    Args:
        distances: {space: (generated distances, test distances)}.
        results: {space: `utils.analysis.neighbours.compare` result}.
        path: the PNG to write.
    """
    import numpy as np
    from matplotlib.figure import Figure

    from utils.files import atomic_path

    figure = Figure(figsize=(5.5 * len(distances), 3.8))
    axes = figure.subplots(1, len(distances), squeeze=False)[0]
    for axis, (space, (generated, test)) in zip(axes, distances.items(), strict=True):
        result = results[space]
        bins = np.linspace(0, max(generated.max(), test.max()) * 1.02, 40)
        axis.hist(test, bins, alpha=0.6, label=f"test to train (median {result['median_test']:.3f})")
        axis.hist(generated, bins, alpha=0.6, label=f"generated to train (median {result['median_generated']:.3f})")
        axis.axvline(result["threshold"], color="black", linestyle=":", label="near-duplicate threshold")
        axis.set(
            xlabel="distance to nearest training image (RMS per dimension)",
            ylabel="count",
            title=f"{space} space: ratio {result['ratio']:.2f}, near-duplicates {100 * result['near_duplicates']:.1f}%",
        )
        axis.legend(fontsize=8)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=100, format="png")


def run(args):
    """Run `dcgan.py neighbours`; returns the exit code."""
    started = time.time()
    out = check_out_file(args.out)
    histogram_path = out.with_name(f"{out.stem}_distances.png")
    if args.rows > args.n:
        raise UserError(f"--rows {args.rows} is more than the --n {args.n} generated samples")
    from utils.data.registry import dataset_spec

    name, spec = dataset_spec(args.dataset)
    if args.data_dir and not Path(args.data_dir).is_dir():
        raise UserError(f"--data-dir {args.data_dir} is not a folder")
    for model in (args.generator, args.discriminator):
        if model and not Path(model).is_file():  # fail before TensorFlow loads
            raise UserError(f"model file {model} does not exist")
    shape = (spec.image_size, spec.image_size, spec.channels)

    import numpy as np

    from utils.analysis.features import extract_features, feature_extractor, load_arrays
    from utils.analysis.neighbours import compare, nearest, verdict
    from utils.analysis.svm import standardiser
    from utils.training.samples import fake_samples
    from utils.training.saving import load_discriminator, load_generator

    generator = load_generator(args.generator)
    if tuple(generator.output_shape[1:]) != shape:
        raise UserError(
            f"generator {args.generator} makes images of shape {generator.output_shape[1:]}, {name} has {shape}"
        )
    discriminator = load_discriminator(args.discriminator, shape) if args.discriminator else None
    try:
        train = load_arrays(name, args.data_dir, "train", args.train_subset, args.seed, labels=False)
    except UserError as exc:
        raise UserError(str(exc).replace("--subset", "--train-subset")) from None
    rng = np.random.default_rng(args.seed)
    if name == "folder":  # no test split: hold out part of the folder
        order = rng.permutation(len(train))
        held = min(args.n, len(train) // 5)
        test, train = train[order[:held]], train[order[held:]]
    else:
        test = load_arrays(name, args.data_dir, "test", labels=False)
        test = test[np.sort(rng.choice(len(test), min(args.n, len(test)), replace=False))]
    if len(train) < args.k or len(test) < 2:
        raise UserError(f"too few images: {len(train)} training and {len(test)} test images for --k {args.k}")
    generated, _ = fake_samples(generator, args.n, args.seed)

    spaces = {"pixel": (generated, test, train)}
    if discriminator is not None:
        extractor = feature_extractor(discriminator)
        train_features = extract_features(extractor, train)
        mean, scale = standardiser(train_features)
        spaces["D-feature"] = tuple(
            (features - mean) / scale
            for features in (extract_features(extractor, generated), extract_features(extractor, test), train_features)
        )
    found, distances, results = {}, {}, {}
    for space, (queries, held_out, references) in spaces.items():
        gen_distances, gen_indices = nearest(queries, references, args.k)
        test_distances, _ = nearest(held_out, references, 1)
        found[space] = (gen_distances[: args.rows], gen_indices[: args.rows])
        distances[space] = (gen_distances[:, 0], test_distances[:, 0])
        results[space] = compare(gen_distances[:, 0], test_distances[:, 0])
    sentence = verdict(results)

    plot_neighbours(generated[: args.rows], train, found, out)
    plot_distances(distances, results, histogram_path)
    print(f"wrote {out} and {histogram_path}")
    print(sentence)
    print_result(
        {
            "pixel": results["pixel"],
            "d_features": results.get("D-feature"),
            "memorization": any(result["memorization"] for result in results.values()),
            "verdict": sentence,
            "n": args.n,
            "k": args.k,
            "train_examples": len(train),
            "test_examples": len(test),
            "figures": [str(out), str(histogram_path)],
            "seconds": round(time.time() - started, 1),
        }
    )
    return 0
