"""`dcgan.py interpolate`: a grid of latent walks and how evenly its frames change."""

from utils.cli.flags import add_generator_flag, add_out_flag, check_out_file, positive_int, print_result
from utils.errors import UserError

METHODS = ("linear", "slerp")


def register(commands):
    """Add the `interpolate` subcommand to `commands` (argparse subparsers)."""
    parser = commands.add_parser(
        "interpolate",
        help="walk between random points of z and measure how smooth the walk is",
        description="Draw --rows walks of --steps frames, each between two random z (linear or spherical "
        "interpolation), as one PNG grid (a row per walk). Smoothness of a walk = largest distance between "
        "consecutive frames / mean distance: 1 when every step changes the image equally, up to steps - 1 "
        "when all the change happens in one step. It is measured in pixels and, with --discriminator, in "
        "D's features before its logit. The last line is JSON: the worst row's ratios and every row's.",
    )
    add_generator_flag(parser)
    parser.add_argument(
        "--discriminator", help="saved discriminator (.keras or .h5): also measure smoothness in its features"
    )
    parser.add_argument("--rows", type=positive_int, default=4, help="number of walks (default 4)")
    parser.add_argument(
        "--steps", type=positive_int, default=10, help="frames per walk, endpoints included (default 10)"
    )
    parser.add_argument("--method", choices=METHODS, default="linear", help="linear or slerp (default linear)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the walks' endpoints (default 0)")
    parser.add_argument("--latent-dim", type=positive_int, help="fail unless the generator takes this latent size")
    add_out_flag(parser, "grid of walks")
    parser.set_defaults(func=run)


def run(args):
    """Draw the walks, write the grid and print the smoothness numbers; returns the exit code."""
    if args.steps < 3:
        raise UserError(f"--steps must be at least 3 to compare steps with each other, not {args.steps}")
    out = check_out_file(args.out)
    import numpy as np

    from utils.analysis.latent import discriminator_features, draw_walks, latent_walks, predict, walk_ratios
    from utils.training.saving import load_discriminator, load_generator

    generator = load_generator(args.generator, args.latent_dim)
    image_shape = tuple(generator.output_shape[1:])
    features = None
    if args.discriminator:
        features = discriminator_features(load_discriminator(args.discriminator, image_shape))
    z = latent_walks(args.rows, args.steps, generator.input_shape[-1], args.seed, args.method)
    images = predict(generator, z)
    pixel = walk_ratios(images, args.rows)
    feature = walk_ratios(predict(features, images), args.rows) if features is not None else None
    labels = [
        f"pixels {p:.2f}" + ("" if feature is None else f"\nD features {feature[row]:.2f}")
        for row, p in enumerate(pixel)
    ]
    title = f"{args.method} walks between random z; per row: largest / mean step between frames (1 = even)"
    draw_walks(images, args.rows, labels, title, out)
    print_result(
        {
            "method": args.method,
            "rows": args.rows,
            "steps": args.steps,
            "seed": args.seed,
            "pixel_smoothness": float(np.max(pixel)),
            "feature_smoothness": float(np.max(feature)) if feature is not None else None,
            "pixel_smoothness_per_row": pixel,
            "feature_smoothness_per_row": feature,
            "out": str(out),
        }
    )
    return 0
