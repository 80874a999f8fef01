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
    parser.add_argument("--split", default="test", help="data split of the real images (default test)")
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
    """Check the flags without TensorFlow; returns (out path, filters path, dataset name and spec or None)."""
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
    dataset = None
    if args.dataset:
        from utils.data.registry import dataset_spec

        dataset = dataset_spec(args.dataset)
        if args.data_dir and not Path(args.data_dir).is_dir():
            raise UserError(f"--data-dir {args.data_dir} is not a folder")
        if dataset[0] == "folder" and not args.data_dir:
            raise UserError("--dataset folder needs --data-dir DIR, the folder of images")
    return out, out.with_name(f"{out.stem}_filters.png"), dataset


def _shape(shape):
    return "x".join(str(side) for side in shape)


def _real_images(args, dataset, image_shape):
    """A seeded sample of `args.sample` real images of D's input shape; UserError on another shape."""
    name, spec = dataset
    size, channels = args.image_size or spec.image_size, args.channels or spec.channels
    if (size, size, channels) != tuple(image_shape):
        raise UserError(
            f"{name} images are {_shape((size, size, channels))} but the discriminator takes {_shape(image_shape)}; "
            "pass --image-size/--channels to match"
        )
    from utils.data.load import load_dataset

    settings = {"data_dir": args.data_dir, "seed": args.seed, "split": args.split, "drop_remainder": False}
    data = load_dataset(name, size, channels, batch_size=min(256, args.sample), **settings)
    return data.sample(args.sample)


def run(args):
    """Run `dcgan.py explain`; returns the exit code."""
    out, filters_out, dataset = _check_args(args)
    from utils.training.saving import load_discriminator, load_generator

    discriminator = load_discriminator(args.discriminator)
    image_shape = tuple(discriminator.input_shape[1:])
    generator = None
    if args.generator:
        generator = load_generator(args.generator)
        if tuple(generator.output_shape[1:]) != image_shape:
            raise UserError(
                f"generator {args.generator} makes {_shape(generator.output_shape[1:])} images but the "
                f"discriminator takes {_shape(image_shape)}"
            )
    import numpy as np

    from utils.analysis.explain import explain_filters, explain_images, plot_explanations, plot_filters
    from utils.analysis.gradcam import feature_index, last_conv_index
    from utils.analysis.guided_backprop import predict
    from utils.training.samples import fake_samples

    layer = discriminator.layers[feature_index(discriminator)]
    if args.top_filters > layer.output.shape[-1]:
        raise UserError(
            f"--top-filters {args.top_filters} is more than the {layer.output.shape[-1]} filters of {layer.name}"
        )
    samples = {}
    if dataset:
        samples["real"] = _real_images(args, dataset, image_shape)
    if generator is not None:
        samples["generated"] = fake_samples(generator, args.sample, seed=args.seed)[0]

    result, sections = {}, []
    for kind, images in samples.items():
        logits = predict(discriminator.layers, images).reshape(-1)
        prefix = "real" if kind == "real" else "fake"
        result[f"{prefix}_mean_logit"] = float(logits.mean())
        result[f"{prefix}_mean_d"] = float((0.5 + 0.5 * np.tanh(logits / 2)).mean())  # sigmoid, no overflow
        result[f"{prefix}_images_scored"] = len(images)
        sections.append((kind, explain_images(discriminator, images[: args.n])))
    plot_explanations(sections, out)

    source = "real" if "real" in samples else "generated"
    filters = explain_filters(discriminator, samples[source], args.top_filters, args.per_filter)
    plot_filters(filters, layer.name, source, filters_out)
    result.update(
        {
            "gradcam_layer": discriminator.layers[last_conv_index(discriminator)].name,
            "filter_layer": layer.name,
            "filter_images": source,
            "top_filters": [entry["filter"] for entry in filters],
            "top_filter_mean_activation": [entry["mean"] for entry in filters],
            "out": str(out),
            "filters_out": str(filters_out),
        }
    )
    print_result(result)
    return 0
