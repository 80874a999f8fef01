"""`dcgan.py forget`: find the filters that draw a region (logistic regression) and draw again without them."""

from pathlib import Path

from utils.cli.flags import add_generator_flag, add_out_flag, check_out_file, positive_int, print_result
from utils.errors import UserError

SHOWN = 32  # samples in each panel of the figure (4 rows of 8)


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

    try:
        masks = np.load(path)
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read masks file {path}: {exc}") from None
    if masks.ndim == 4 and masks.shape[-1] == 1:
        masks = masks[..., 0]
    if masks.ndim != 3 or len(masks) != count:
        raise UserError(
            f"masks in {path} have shape {masks.shape}; --n {count} needs ({count}, S, S): a mask per sample"
        )
    return masks.astype(bool)


def _check_mask_size(masks, image_shape, path):
    """UserError unless the masks are as large as the generated images."""
    if masks.shape[1:] != tuple(image_shape[:2]):
        raise UserError(
            f"masks in {path} are {masks.shape[1]}x{masks.shape[2]}, "
            f"but the generator draws {image_shape[0]}x{image_shape[1]} images"
        )


def _figure(masks, before, after, dropped, path):
    """Write the regions, before and after grids side by side to `path` (PNG)."""
    from matplotlib.figure import Figure

    from utils.files import atomic_path
    from utils.images import make_grid

    panels = [
        (make_grid(masks[:SHOWN, :, :, None].astype("uint8") * 255, columns=8), "region masks"),
        (make_grid(before[:SHOWN], columns=8), "before"),
        (make_grid(after[:SHOWN], columns=8), f"after dropping {len(dropped)} filters"),
    ]
    height, width = panels[0][0].shape[:2]
    figure = Figure(figsize=(12, 4 * height / width + 0.6))  # three panels of 4 inches, titles above
    for axis, (grid, title) in zip(figure.subplots(1, 3), panels, strict=True):
        axis.imshow(grid[..., 0] if grid.shape[-1] == 1 else grid, cmap="gray", vmin=0, vmax=255)
        axis.set_title(title)
        axis.axis("off")
    figure.tight_layout()
    with atomic_path(path, "figure") as tmp:
        figure.savefig(tmp, dpi=100, format="png")


def run(args):
    """Find and drop the region's filters, write the figure and print the JSON result; returns the exit code."""
    from utils.analysis.forget import parse_rule

    rule = parse_rule(args.rule) if args.rule else None
    for flag, path in (("model", args.generator), ("masks", args.masks)):
        if path and not Path(path).is_file():
            raise UserError(f"{flag} file {path} does not exist")
    out = check_out_file(args.out)
    masks = _load_masks(args.masks, args.n) if args.masks else None
    from utils.analysis.forget import (
        cell_fractions,
        find_filters,
        forget_effect,
        generate_split,
        rule_masks,
        second_conv_name,
        split_index,
    )
    from utils.training.samples import sample_latent
    from utils.training.saving import load_generator

    generator = load_generator(args.generator, args.latent_dim)
    image_shape = tuple(generator.output_shape[1:])
    z = sample_latent(args.n, generator.input_shape[-1], args.seed)
    before = generate_split(generator, z)
    if rule:
        masks = rule_masks(rule, before[1])
    else:
        _check_mask_size(masks, image_shape, args.masks)
    fractions = cell_fractions(masks, before[0].shape[1])
    found = find_filters(before[0], fractions, args.top_k, 0.0 if args.threshold is None else args.threshold)
    after = generate_split(generator, z, found["filters"])
    _figure(masks, before[1], after[1], found["filters"], out)
    print(f"wrote regions, before and after grids to {out}")
    print_result(
        {
            "layer": second_conv_name(generator),
            "activation": generator.layers[split_index(generator)].name,
            "filters": before[0].shape[-1],
            "dropped_filters": found["filters"],
            "logreg_accuracy": found["accuracy"],
            "logreg_baseline": found["baseline"],
            "region_fraction": float(masks.mean()),
            **forget_effect(before, after, fractions, masks),
            "n": args.n,
        }
    )
    return 0
