"""`dcgan.py forget`: find the filters that draw a region (logistic regression) and draw again without them."""

from pathlib import Path

from utils.cli.flags import add_generator_flag, add_out_flag, check_out_file, positive_int, print_result
from utils.errors import UserError


def register(commands):
    """Add the `forget` subcommand to `commands` (argparse subparsers)."""
    parser = commands.add_parser(
        "forget",
        help="make the generator forget to draw a region (paper 6.1) and measure the change",
        description="Paper section 6.1, 'forgetting to draw windows'. Draw --n samples (z from --seed, as "
        "'dcgan.py sample'), fit a logistic regression on the activations of G's second-highest conv layer that "
        "tells positions inside each sample's region from those outside, drop the filters with the largest "
        "positive weights (zero their activations) and draw the same z again. Regions: --masks FILE.npy "
        "(N x S x S booleans, one per sample) or --rule bright:T (pixels brighter than T, 0 = black, 1 = white) "
        "or --rule box:TOP,LEFT,BOTTOM,RIGHT (the same pixel box in every image). Writes regions, before and "
        "after grids to --out; the last line is JSON with the dropped filters and the change of the pixels "
        "inside the region vs outside.",
    )
    add_generator_flag(parser)
    regions = parser.add_mutually_exclusive_group(required=True)
    regions.add_argument("--masks", help=".npy of N x S x S booleans: the region of each generated sample")
    regions.add_argument("--rule", help="bright:T or box:TOP,LEFT,BOTTOM,RIGHT (see above)")
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument("--top-k", type=positive_int, help="drop the K filters with the largest positive weights")
    choice.add_argument(
        "--threshold", type=float, help="drop every filter with a weight above this (default 0, as the paper)"
    )
    parser.add_argument("--n", type=positive_int, default=256, help="number of samples (default 256)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the noise (default 0)")
    parser.add_argument("--latent-dim", type=positive_int, help="fail unless the generator takes this latent size")
    add_out_flag(parser, "regions, before and after grids")
    parser.set_defaults(func=run)


def _load_masks(path, count):
    """Read the masks file and check it holds one 2-D mask per sample; returns (N, H, W) bool."""
    import numpy as np

    from utils.analysis.forget_regions import check_masks

    try:
        masks = np.load(path)
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read masks file {path}: {exc}") from None
    return check_masks(masks, count, path)


def run(args):
    """Find and drop the region's filters, write the figure and print the JSON result; returns the exit code."""
    from utils.analysis.forget_regions import parse_rule

    if args.rule:
        parse_rule(args.rule)
    for flag, path in (("model", args.generator), ("masks", args.masks)):
        if path and not Path(path).is_file():
            raise UserError(f"{flag} file {path} does not exist")
    out = check_out_file(args.out)
    masks = _load_masks(args.masks, args.n) if args.masks else None
    from utils.analysis.forget import forget
    from utils.training.saving import load_generator

    generator = load_generator(args.generator, args.latent_dim)
    threshold = 0.0 if args.threshold is None else args.threshold
    result = forget(
        generator,
        masks=masks,
        rule=args.rule,
        n=args.n,
        seed=args.seed,
        top_k=args.top_k,
        threshold=threshold,
        out=out,
        masks_name=args.masks,
    )
    print_result(result)
    return 0
