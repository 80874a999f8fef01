"""`dcgan.py classifier`: train the offline FID/KID feature extractor on a labelled dataset's training split."""

from pathlib import Path

from utils.cli.flags import add_data_flags, check_out_file, positive_int, print_result
from utils.errors import UserError

MODEL_SUFFIXES = (".keras", ".h5")


def register(commands):
    """Add the `classifier` subcommand to `commands`."""
    parser = commands.add_parser(
        "classifier",
        help="train a small CNN classifier whose penultimate layer is the offline feature space of 'fid'",
        description="Train a small CNN classifier on the labels of a dataset's training split, report its "
        "accuracy on the test split and save it; 'dcgan.py fid --features classifier --classifier FILE' uses its "
        "128-unit penultimate layer as the feature space of FID and KID when InceptionV3 cannot be downloaded.",
    )
    add_data_flags(parser)
    parser.add_argument("--out", required=True, help="model file to write (.keras or .h5)")
    parser.add_argument("--epochs", type=positive_int, default=4, help="passes over the training split (default 4)")
    parser.add_argument("--batch-size", type=positive_int, default=128, help="images per step (default 128)")
    parser.add_argument("--subset", type=positive_int, help="train on this many examples, chosen with --seed")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights, subset and shuffling (default 0)")
    parser.set_defaults(func=run)


def run(args):
    """Train, evaluate and save the classifier; prints the JSON result line."""
    from utils.data.registry import dataset_spec

    name, spec = dataset_spec(args.dataset)
    if not spec.labels:
        raise UserError(f"dataset {name} has no class labels; train the classifier on a labelled dataset")
    out = check_out_file(args.out)
    if out.suffix not in MODEL_SUFFIXES:
        raise UserError(f"--out {out} must end in .keras or .h5")
    if args.data_dir and not Path(args.data_dir).is_dir():
        raise UserError(f"--data-dir {args.data_dir} is not a folder")

    from utils.analysis.classifier import train_and_evaluate
    from utils.training.saving import save_model

    model, result = train_and_evaluate(name, args.data_dir, args.epochs, args.batch_size, args.subset, args.seed)
    save_model(model, out)
    print(f"test accuracy {result['test_accuracy']:.4f}; wrote {out}")
    print_result({**result, "out": str(out)})
    return 0
