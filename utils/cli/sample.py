"""`dcgan.py sample`: a grid of images from a saved generator."""

from utils.cli.flags import add_generator_flag, add_out_flag, check_out_file, positive_int
from utils.errors import UserError


def register(commands):
    """Add the `sample` subcommand to `commands` (argparse subparsers)."""
    sample = commands.add_parser(
        "sample",
        help="write a grid of images from a saved generator",
        description="Draw images from a saved .keras or .h5 generator into one PNG grid.",
    )
    add_generator_flag(sample)
    sample.add_argument("--n", type=positive_int, default=64, help="number of images (default 64)")
    sample.add_argument("--seed", type=int, default=0, help="seed of the noise (default 0)")
    sample.add_argument("--noise", help="a .npy file of z vectors to use instead of random noise")
    sample.add_argument("--latent-dim", type=positive_int, help="fail unless the generator takes this latent size")
    sample.add_argument("--columns", type=positive_int, help="images per row (default: square grid)")
    add_out_flag(sample, "grid")
    sample.set_defaults(func=run)


def run(args):
    """Draw the images and write the grid; returns the exit code."""
    out = check_out_file(args.out)
    import numpy as np

    from utils.training.samples import sample_latent, save_samples
    from utils.training.saving import load_generator

    generator = load_generator(args.generator, args.latent_dim)
    latent_dim = generator.input_shape[-1]
    if args.noise:
        try:
            z = np.load(args.noise).astype(np.float32)
        except (OSError, ValueError) as exc:
            raise UserError(f"cannot read noise file {args.noise}: {exc}") from None
        if z.ndim != 2 or z.shape[1] != latent_dim:
            raise UserError(f"noise in {args.noise} has shape {z.shape}; the generator takes (N, {latent_dim})")
    else:
        z = sample_latent(args.n, latent_dim, args.seed)
    count = save_samples(generator, out, z=z, columns=args.columns)
    print(f"wrote {count} samples to {out}")
    return 0
