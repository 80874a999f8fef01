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
    from utils.analysis.latent import interpolate
    from utils.training.saving import load_discriminator, load_generator

    generator = load_generator(args.generator, args.latent_dim)
    discriminator = None
    if args.discriminator:
        discriminator = load_discriminator(args.discriminator, tuple(generator.output_shape[1:]))
    result = interpolate(generator, discriminator, args.rows, args.steps, args.method, args.seed, out=out)
    print_result(result)
    return 0
