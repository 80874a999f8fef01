"""`dcgan.py summary`: both models' layers and parameter counts, without training."""

import json

from utils.cli.model_flags import add_model_flags, model_settings
from utils.data.registry import dataset_spec


def register(commands):
    """Add the `summary` subcommand to `commands` (argparse subparsers)."""
    summary = commands.add_parser(
        "summary",
        help="print both models' layers and parameter counts",
        description="Print the Keras summaries of G and D, then one JSON line with their trainable parameter counts.",
    )
    summary.add_argument("--dataset", help="take the default image size and channels from this dataset")
    add_model_flags(summary)
    summary.set_defaults(func=run)


def run(args):
    """Build G and D and print their summaries and parameter counts; returns the exit code."""
    spec = dataset_spec(args.dataset)[1] if args.dataset else None
    model = model_settings(args, spec)
    from utils.training.models import build_discriminator, build_generator, trainable_params

    generator, discriminator = build_generator(model), build_discriminator(model)
    generator.summary()
    discriminator.summary()
    print(json.dumps({"generator": trainable_params(generator), "discriminator": trainable_params(discriminator)}))
    return 0
