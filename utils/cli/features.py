"""`dcgan.py features`: classify with D's pooled conv features, against raw pixels and an untrained D (paper 5.1)."""

from pathlib import Path

from utils.cli.flags import add_data_flags, add_discriminator_flag, check_out_file, positive_int, print_result
from utils.errors import UserError


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


def run(args):
    """Run `dcgan.py features`; returns the exit code."""
    out = check_out_file(args.out) if args.out else None
    from utils.data.registry import dataset_spec

    name, spec = dataset_spec(args.dataset)
    if not spec.labels:
        raise UserError(f"dataset {name!r} has no class labels; 'features' needs a labelled dataset")
    if args.data_dir and not Path(args.data_dir).is_dir():
        raise UserError(f"--data-dir {args.data_dir} is not a folder")
    if not Path(args.discriminator).is_file():  # fail before TensorFlow loads
        raise UserError(f"model file {args.discriminator} does not exist")
    from utils.analysis.d_features import TITLES, d_feature_classification
    from utils.training.saving import load_discriminator

    discriminator = load_discriminator(args.discriminator, (spec.image_size, spec.image_size, spec.channels))
    result = d_feature_classification(
        discriminator,
        name,
        args.data_dir,
        train_subset=args.train_subset,
        labels_per_class=args.labels_per_class,
        draws=args.draws,
        seed=args.seed,
        out=out,
        log=lambda line: print(line, flush=True),
    )

    sizes, draws = result["examples"], result["draws"]
    print(
        f"\n{name}: {result['protocol']}, {sizes['train']} training / {sizes['validation']} validation / "
        f"{sizes['test']} test examples, {draws} draw{'s' if draws > 1 else ''}"
    )
    print(f"{'features':<22} {'dims':>6}  {'test accuracy':<17} C chosen on validation")
    for key, title in TITLES.items():
        spread = f" ± {result['std'][key]:.4f}" if result["std"][key] is not None else ""
        chosen = ", ".join(f"{c:.3g}" for c in result["c"][key])
        print(f"{title:<22} {result['feature_dims'][key]:>6}  {result[key]:.4f}{spread:<10} {chosen}")
    if out:
        print(f"wrote {out}")
    print_result(result)
    return 0
