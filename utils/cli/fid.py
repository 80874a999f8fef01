"""`dcgan.py fid`: FID and KID of a generator against held-out real images, beside the real-vs-real floor."""

import argparse
from pathlib import Path

from utils.cli.flags import add_data_flags, add_generator_flag, check_out_file, print_result
from utils.errors import UserError

SAVED_MODELS = Path(__file__).resolve().parents[2] / "saved_models"
FEATURES = ("classifier", "inception")


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
        description="Compare --n generated images with --n images of the dataset's held-out data (its test split; LSUN's validation "
        "split; half of a dataset with one split, the other half giving the floor) in a feature "
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
    from utils.analysis.fid import fid_kid
    from utils.training.saving import load_generator, load_model

    generator = load_generator(args.generator)
    image_shape = tuple(generator.output_shape[1:])
    classifier = None
    if classifier_path:
        classifier = load_model(classifier_path)
        if tuple(classifier.input_shape[1:]) != image_shape:
            raise UserError(
                f"classifier {classifier_path} takes images of shape {tuple(classifier.input_shape[1:])}, "
                f"but generator {args.generator} draws {image_shape}"
            )
    result = fid_kid(generator, name, classifier, args.data_dir, args.n, args.seed, out=out)
    if out:
        print(f"wrote {out}")
    print_result(result)
    return 0
