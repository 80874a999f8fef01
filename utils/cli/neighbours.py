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


def run(args):
    """Run `dcgan.py neighbours`; returns the exit code."""
    started = time.time()
    out = check_out_file(args.out)
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

    from utils.analysis.neighbours import memorization
    from utils.training.saving import load_discriminator, load_generator

    generator = load_generator(args.generator)
    if tuple(generator.output_shape[1:]) != shape:
        raise UserError(
            f"generator {args.generator} makes images of shape {generator.output_shape[1:]}, {name} has {shape}"
        )
    discriminator = load_discriminator(args.discriminator, shape) if args.discriminator else None
    result = memorization(
        generator,
        name,
        discriminator,
        data_dir=args.data_dir,
        n=args.n,
        k=args.k,
        rows=args.rows,
        train_subset=args.train_subset,
        seed=args.seed,
        out=out,
    )
    result["seconds"] = round(time.time() - started, 1)  # the whole command, model loading included
    print_result(result)
    return 0
