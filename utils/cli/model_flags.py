"""The model flags that `train` and `summary` share, and how they resolve into a `ModelConfig`."""

from utils.cli.flags import positive_int
from utils.training.config import ARCHITECTURES, BATCHNORM, IMAGE_SIZES, model_config


def add_model_flags(parser):
    """Add the model flags (an --architecture preset and the flags that override it) to `parser`."""
    group = parser.add_argument_group("model (each flag overrides the --architecture preset)")
    group.add_argument(
        "--architecture",
        default="paper",
        choices=list(ARCHITECTURES),
        help="named preset: paper (REFERENCE's 64x64 figure scaled to the image size), reference (PyTorch "
        "reference: 4x4 kernels, width 64), seed002-doubled / seed002-extra-layer (128x128). Default: paper",
    )
    group.add_argument(
        "--image-size",
        type=int,
        help=f"image side in pixels: {', '.join(map(str, IMAGE_SIZES))} (default: the dataset's or preset's)",
    )
    group.add_argument("--channels", type=int, help="1 (grayscale) or 3 (RGB) (default: the dataset's own)")
    group.add_argument("--latent-dim", type=positive_int, help="length of the noise vector z (default 100)")
    group.add_argument(
        "--g-width", type=positive_int, help="channels of G's last hidden layer; they double towards 4x4 (paper 128)"
    )
    group.add_argument(
        "--d-width", type=positive_int, help="channels of D's first layer; they double towards 4x4 (paper 128)"
    )
    group.add_argument("--kernel-size", type=positive_int, help="convolution kernel size (paper 5, reference 4)")
    group.add_argument("--batchnorm", choices=list(BATCHNORM), help="where BatchNorm is used (default both)")
    group.add_argument("--d-dropout", type=float, help="dropout rate after each D activation (default 0: none)")
    group.add_argument("--projection", choices=("dense", "conv_transpose"), help="how G turns z into the 4x4 map")
    group.add_argument("--d-output", choices=("dense", "conv"), help="how D turns its 4x4 map into one logit")


def model_settings(args, spec=None):
    """Resolve the model flags into a `ModelConfig` (preset, then dataset defaults, then explicit flags)."""
    preset = ARCHITECTURES.get(args.architecture, {})
    g_bn, d_bn = BATCHNORM[args.batchnorm] if args.batchnorm else (None, None)
    return model_config(
        args.architecture,
        image_size=args.image_size or preset.get("image_size") or (spec.image_size if spec else None),
        channels=args.channels or (spec.channels if spec else None),
        latent_dim=args.latent_dim,
        g_width=args.g_width,
        d_width=args.d_width,
        kernel_size=args.kernel_size,
        g_batchnorm=g_bn,
        d_batchnorm=d_bn,
        d_dropout=args.d_dropout,
        projection=args.projection,
        d_output=args.d_output,
    )
