"""Model settings: the named architectures and the validated `ModelConfig` (no TensorFlow import)."""

import dataclasses
import json
from pathlib import Path

from utils.data.registry import IMAGE_SIZES
from utils.errors import UserError

BACKENDS = ("tensorflow", "jax", "torch")  # Keras backends the trainer supports (each is also its package's name)
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")  # Keras dtype policies of --precision
# --batchnorm: where BatchNorm is used, as (in G, in D).
BATCHNORM = {"both": (True, True), "none": (False, False), "generator": (True, False), "discriminator": (False, True)}

ARCHITECTURES = {
    # The paper's figure 1: 5x5 kernels, dense projection of z, 128 channels next to the image.
    "paper": {},
    # The PyTorch reference DCGAN: 4x4 kernels, ngf = ndf = 64, z projected by a transposed conv.
    "reference": {"kernel_size": 4, "g_width": 64, "d_width": 64, "projection": "conv_transpose", "d_output": "conv"},
    # Seed 002, 128x128: channels doubled plus one more block (72,922,240 generator parameters).
    "seed002-doubled": {"image_size": 128},
    # Seed 002, 128x128: one more layer, channels not scaled (19,053,120 generator parameters).
    "seed002-extra-layer": {"image_size": 128, "g_width": 64, "d_width": 64},
}


@dataclasses.dataclass
class ModelConfig:
    """Everything that decides the shape of G and D.

    Attributes:
        image_size: 28, 32, 64 or 128.
        channels: 1 (grayscale) or 3 (RGB).
        latent_dim: length of z.
        g_width: channels of G's last hidden layer (next to the image); they double towards the core.
        d_width: channels of D's first layer; they double towards the core.
        kernel_size: convolution kernel size in G and D.
        g_batchnorm: BatchNorm in G's hidden layers.
        d_batchnorm: BatchNorm in D's layers after the first.
        d_dropout: dropout rate after each of D's activations (0 for none).
        projection: "dense" (project and reshape z) or "conv_transpose" (z as 1x1 map, valid conv).
        d_output: "dense" (flatten, one unit) or "conv" (valid conv over the core, as the reference).
    """

    image_size: int = 64
    channels: int = 3
    latent_dim: int = 100
    g_width: int = 128
    d_width: int = 128
    kernel_size: int = 5
    g_batchnorm: bool = True
    d_batchnorm: bool = True
    d_dropout: float = 0.0
    projection: str = "dense"
    d_output: str = "dense"

    def __post_init__(self):
        if self.image_size not in IMAGE_SIZES:
            raise UserError(
                f"unsupported image size {self.image_size}; choose one of {', '.join(map(str, IMAGE_SIZES))}"
            )
        if self.channels not in (1, 3):
            raise UserError(f"unsupported channel count {self.channels}; choose 1 or 3")
        for name in ("latent_dim", "g_width", "d_width", "kernel_size"):
            if getattr(self, name) < 1:
                raise UserError(f"{name.replace('_', '-')} must be a positive integer")
        if not 0.0 <= self.d_dropout < 1.0:
            raise UserError("d-dropout must be in [0, 1)")
        if self.projection not in ("dense", "conv_transpose"):
            raise UserError(f"unknown projection {self.projection!r}; choose dense or conv_transpose")
        if self.d_output not in ("dense", "conv"):
            raise UserError(f"unknown d-output {self.d_output!r}; choose dense or conv")


def model_config(architecture="paper", **overrides):
    """Build a `ModelConfig` from a named preset, with individual settings overriding it.

    Args:
        architecture: a key of `ARCHITECTURES`.
        **overrides: `ModelConfig` fields; None values are ignored.

    Returns:
        The `ModelConfig`.
    """
    if architecture not in ARCHITECTURES:
        raise UserError(f"unknown architecture {architecture!r}; choose one of {', '.join(ARCHITECTURES)}")
    settings = dict(ARCHITECTURES[architecture])
    settings.update({key: value for key, value in overrides.items() if value is not None})
    return ModelConfig(**settings)


def load_config(out):
    """Read a run folder's `config.json` (no Keras import); UserError when it is missing or broken."""
    path = Path(out) / "config.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read run configuration {path}: {exc}") from None
