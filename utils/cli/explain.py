"""`dcgan.py explain`: Grad-CAM and guided backprop of a saved D on real and generated images; its top filters.

The filters figure is the paper's look at D's features: guided-backprop maps of the images that activate
each of the most active filters of D's last convolution.
"""

from pathlib import Path

from utils.cli.flags import (
    add_data_flags,
    add_discriminator_flag,
    add_generator_flag,
    add_out_flag,
    check_out_file,
    print_result,
)
from utils.errors import UserError


def register(commands):
    """Add the `explain` subcommand to `commands`."""
    parser = commands.add_parser(
        "explain",
        help="Grad-CAM and guided backprop of D on real and generated images; D's top filters",
        description="Explain a saved discriminator. --out gets rows of images, Grad-CAM overlays of D's 'real' "
        "logit on its last convolution and guided-backprop maps, for real (--dataset) and generated (--generator) "
        "images; <out stem>_filters.png gets the --top-filters filters of D's last convolution with the largest "
        "mean activation over --sample images and guided-backprop maps of the images that activate each most. "
        "The last line is a JSON object with D's mean logits, the Grad-CAM layer and the top filters.",
    )
    add_discriminator_flag(parser)
    add_generator_flag(parser, required=False)
    add_data_flags(parser, required=False)
    parser.add_argument(
        "--split",
        help="data split of the real images (default: the held-out data: the test split, LSUN's validation split, "
        "half of a one-split dataset)",
    )
    parser.add_argument("--image-size", type=int, help="resize real images to this side (default: the dataset's)")
    parser.add_argument("--channels", type=int, help="1 or 3 channels for real images (default: the dataset's)")
    parser.add_argument("--n", type=int, default=8, help="images explained per kind (default 8)")
    parser.add_argument("--top-filters", type=int, default=8, help="filters shown in the filters figure (default 8)")
    parser.add_argument("--per-filter", type=int, default=4, help="top images shown per filter (default 4)")
    parser.add_argument(
        "--sample", type=int, default=512, help="images per kind that D scores and that rank filters (default 512)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the real-image sample and the noise (default 0)")
    add_out_flag(parser)
    parser.set_defaults(func=run)


def _check_args(args):
    """Check the flags without TensorFlow; returns (out path, the dataset's canonical name or None)."""
    out = check_out_file(args.out)
    if not args.dataset and not args.generator:
        raise UserError("explain needs real images (--dataset), generated ones (--generator) or both")
    for flag in ("n", "top_filters", "per_filter", "sample"):
        if getattr(args, flag) < 1:
            raise UserError(f"--{flag.replace('_', '-')} must be a positive integer")
    if args.n > args.sample or args.per_filter > args.sample:
        raise UserError("--n and --per-filter cannot exceed --sample")
    for flag in ("discriminator", "generator"):
        path = getattr(args, flag)
        if path and not Path(path).is_file():
            raise UserError(f"--{flag} {path} does not exist")
    if not args.dataset:
        return out, None
    from utils.data.registry import dataset_spec

    name, _ = dataset_spec(args.dataset)
    if args.data_dir and not Path(args.data_dir).is_dir():
        raise UserError(f"--data-dir {args.data_dir} is not a folder")
    if name == "folder" and not args.data_dir:
        raise UserError("--dataset folder needs --data-dir DIR, the folder of images")
    return out, name


def run(args):
    """Run `dcgan.py explain`; returns the exit code."""
    out, dataset = _check_args(args)
    from utils.training.saving import load_discriminator, load_generator

    discriminator = load_discriminator(args.discriminator)
    image_shape = tuple(discriminator.input_shape[1:])
    generator = None
    if args.generator:
        generator = load_generator(args.generator)
        if tuple(generator.output_shape[1:]) != image_shape:
            shapes = ["x".join(str(side) for side in shape) for shape in (generator.output_shape[1:], image_shape)]
            raise UserError(
                f"generator {args.generator} makes {shapes[0]} images but the discriminator takes {shapes[1]}"
            )
    from utils.analysis.explain import explain

    result = explain(
        discriminator,
        generator,
        dataset,
        data_dir=args.data_dir,
        split=args.split,
        image_size=args.image_size,
        channels=args.channels,
        n=args.n,
        top_filters=args.top_filters,
        per_filter=args.per_filter,
        sample=args.sample,
        seed=args.seed,
        out=out,
    )
    print_result(result)
    return 0
