"""`dcgan.py fid`: FID and KID of a generator against the test split, beside the real-vs-real floor."""

import argparse
import time
from pathlib import Path

from utils.cli.flags import add_data_flags, add_generator_flag, check_out_file, print_result
from utils.errors import UserError

SAVED_MODELS = Path(__file__).resolve().parents[2] / "saved_models"
FEATURES = ("classifier", "inception")
REFERENCE_SPLITS = {"lsun/bedroom": "validation"}  # the split the samples are compared with, when not "test"
ONE_SPLIT = ("folder", "lfw")  # datasets with one split: reference and floor are its two disjoint halves


def _at_least_two(text):
    value = int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be an integer of at least 2, not {text}")
    return value


def register(commands):
    """Add the `fid` subcommand to `commands` (argparse subparsers)."""
    parser = commands.add_parser(
        "fid",
        help="FID and KID of a generator's samples, beside the real-vs-real floor",
        description="Compare --n generated images with --n images of the dataset's test split in a feature "
        "space: InceptionV3 (ImageNet weights, downloaded on first use; the published convention) or, offline, "
        "the penultimate layer of a classifier trained on the same dataset ('dcgan.py classifier'). Prints FID "
        "and KID (mean and std over subsets) and the floor: the same scores for --n training images against the "
        "same test images, i.e. what a perfect generator would get at this sample size. Classifier-space numbers "
        "compare only with each other, not with published Inception FIDs.",
    )
    add_generator_flag(parser)
    add_data_flags(parser)
    parser.add_argument(
        "--features",
        choices=FEATURES,
        default="classifier",
        help="feature space: classifier (offline; default) or inception (needs the download; slow without a GPU)",
    )
    parser.add_argument(
        "--classifier", help="classifier for --features classifier (default saved_models/<dataset>_classifier.keras)"
    )
    parser.add_argument("--n", type=_at_least_two, default=10000, help="images in each set (default 10000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the noise, the real subsets and KID's subsets")
    parser.add_argument("--out", help="optional PNG: bar chart of the model's scores against the floor")
    parser.set_defaults(func=run)


def _classifier_path(args, name):
    """The classifier file to use; UserError when there is none."""
    path = Path(args.classifier) if args.classifier else SAVED_MODELS / f"{name.replace('/', '_')}_classifier.keras"
    if not path.is_file():
        hint = "" if args.classifier else f"; train one with 'dcgan.py classifier --dataset {name} --out {path}'"
        raise UserError(f"classifier file {path} does not exist{hint}")
    return path


def _real_images(name, data_dir, split, count, seed, image_shape):
    """`count` images of one split, a seeded random subset, at the generator's size: (count, S, S, C) float32."""
    from utils.data.load import load_dataset

    settings = {"data_dir": data_dir, "split": split, "image_size": image_shape[0], "channels": image_shape[-1]}
    settings.update(batch_size=500, shuffle=False, drop_remainder=False)
    total = load_dataset(name, **settings).num_examples
    if count > total:
        raise UserError(f"--n {count} is more than the {split} split of {name} holds ({total} images)")
    return load_dataset(name, subset=count, seed=seed, **settings).sample(count)


def _real_sets(name, data_dir, count, seed, image_shape):
    """(reference, floor) images: the test split and a training subset, or two halves of a one-split dataset."""
    import numpy as np

    if name in ONE_SPLIT:
        images = _real_images(name, data_dir, "train", 2 * count, seed, image_shape)
        images = images[np.random.default_rng(seed).permutation(len(images))]
        return images[:count], images[count:], "half of train"
    split = REFERENCE_SPLITS.get(name, "test")
    return (
        _real_images(name, data_dir, split, count, seed, image_shape),
        _real_images(name, data_dir, "train", count, seed, image_shape),
        split,
    )


def _bar_chart(result, path):
    """Write the model's FID and KID beside the floor's to `path` (PNG)."""
    from matplotlib.figure import Figure

    from utils.files import atomic_path

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


def run(args):
    """Score the generator and the real floor; optionally write the bar chart; returns the exit code."""
    from utils.data.registry import dataset_spec

    name, _ = dataset_spec(args.dataset)
    if not Path(args.generator).is_file():
        raise UserError(f"model file {args.generator} does not exist")
    if args.data_dir and not Path(args.data_dir).is_dir():
        raise UserError(f"--data-dir {args.data_dir} is not a folder")
    classifier_path = _classifier_path(args, name) if args.features == "classifier" else None
    out = check_out_file(args.out) if args.out else None
    from utils.analysis.classifier import feature_extractor
    from utils.analysis.fid import extract_features, fid, inception_extractor, kid
    from utils.training.samples import fake_samples
    from utils.training.saving import load_generator, load_model

    start = time.perf_counter()
    generator = load_generator(args.generator)
    image_shape = tuple(generator.output_shape[1:])
    if classifier_path:
        classifier = load_model(classifier_path)
        if tuple(classifier.input_shape[1:]) != image_shape:
            raise UserError(
                f"classifier {classifier_path} takes images of shape {tuple(classifier.input_shape[1:])}, "
                f"but generator {args.generator} draws {image_shape}"
            )
        extractor = feature_extractor(classifier)
    else:
        extractor = inception_extractor(image_shape)
    reference, floor, split = _real_sets(name, args.data_dir, args.n, args.seed, image_shape)
    fake = fake_samples(generator, args.n, args.seed)[0]
    fake_f, reference_f, floor_f = (extract_features(extractor, images) for images in (fake, reference, floor))
    kid_mean, kid_std = kid(fake_f, reference_f, seed=args.seed)
    floor_kid, floor_kid_std = kid(floor_f, reference_f, seed=args.seed)
    result = {
        "fid": fid(fake_f, reference_f),
        "kid": kid_mean,
        "kid_std": kid_std,
        "floor_fid": fid(floor_f, reference_f),
        "floor_kid": floor_kid,
        "floor_kid_std": floor_kid_std,
        "features": args.features,
        "feature_dim": fake_f.shape[1],
        "n": args.n,
        "reference": f"{name} {split}",
        "seconds": round(time.perf_counter() - start, 1),
    }
    print(f"FID {result['fid']:.4g} (real floor {result['floor_fid']:.4g}), KID {kid_mean:.4g} +- {kid_std:.2g} "
          f"(floor {floor_kid:.4g}) in {args.features} features, {args.n} images each")  # fmt: skip
    if out:
        _bar_chart(result, out)
        print(f"wrote {out}")
    print_result(result)
    return 0
