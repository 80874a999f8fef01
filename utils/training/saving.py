"""Save trained G and D to .keras and .h5, and load them back with checks."""

import contextlib
import json
import logging
import warnings
import zipfile
from pathlib import Path

import h5py
import keras

from utils.errors import UserError
from utils.files import atomic_path

MODEL_SUFFIXES = (".keras", ".h5")
MAX_REASON = 1000  # characters of Keras's reason kept in a load error (its config dumps can be far longer)


@contextlib.contextmanager
def _without_legacy_notice():
    """Hide absl's "legacy .h5 format" notice, printed on every .h5 save: .h5 is asked for on purpose."""
    absl_logger = logging.getLogger("absl")
    level = absl_logger.level
    absl_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        absl_logger.setLevel(level)


def save_model(model, path):
    """Save `model` to `path` (.keras or .h5) atomically, without optimizer state; UserError if it cannot be written."""
    with atomic_path(path, "model") as tmp:
        if Path(path).suffix == ".h5":
            with _without_legacy_notice():
                model.save(tmp, include_optimizer=False)
        else:
            model.save(tmp)


def writer_version(path):
    """The Keras version that wrote a .keras or .h5 model file, or None when the file does not say."""
    try:
        if Path(path).suffix == ".keras":
            with zipfile.ZipFile(path) as archive:
                return json.loads(archive.read("metadata.json"))["keras_version"]
        with h5py.File(path, "r") as file:
            version = file.attrs.get("keras_version")
            return version.decode() if isinstance(version, bytes) else version
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None


def save_models(gan, folder):
    """Write generator.keras, generator.h5, discriminator.keras and discriminator.h5 into `folder`."""
    for name, model in (("generator", gan.generator), ("discriminator", gan.discriminator)):
        for suffix in MODEL_SUFFIXES:
            save_model(model, Path(folder) / f"{name}{suffix}")


def load_model(path):
    """Load a saved .keras or .h5 model for inference; UserError on a missing or broken file."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"model file {path} does not exist")
    if path.suffix not in MODEL_SUFFIXES:
        raise UserError(f"{path} is not a .keras or .h5 model file")
    if not (zipfile.is_zipfile(path) if path.suffix == ".keras" else h5py.is_hdf5(path)):
        raise UserError(f"cannot load model {path}: not a valid {path.suffix} file (truncated or not a model)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return keras.models.load_model(path, compile=False)  # compiling a .h5 would log an absl warning
    except Exception as exc:  # Keras, h5py and zipfile raise many types for broken files
        raise UserError(_load_error(path, exc)) from None


def _load_error(path, exc):
    """One line: the reason (up to `MAX_REASON` characters) and, when the file's Keras differs, both versions.

    Keras wraps the cause of a failed deserialization after a dump of the whole model config; the cause is kept.
    """
    reason = " ".join(str(exc).split()) or type(exc).__name__
    reason = reason.rsplit("Exception encountered:", 1)[-1].strip()
    if len(reason) > MAX_REASON:
        reason = reason[:MAX_REASON] + " ..."
    line = f"cannot load model {path}: {reason}"
    written = writer_version(path)
    if written and written != keras.__version__:
        line += (
            f"; the file was written by Keras {written} and this is Keras {keras.__version__}: install Keras "
            f"{written} or newer (pip install -U 'keras>={written}'); Keras 2 cannot read these files"
        )
    return line


def load_generator(path, latent_dim=None):
    """Load a generator and check that it maps (batch, latent_dim) vectors to images.

    Args:
        path: .keras or .h5 file.
        latent_dim: expected latent size, or None to accept any.

    Returns:
        The model.
    """
    model = load_model(path)
    if len(model.input_shape) != 2 or len(model.output_shape) != 4:
        raise UserError(f"{path} is not a generator: it maps {model.input_shape} to {model.output_shape}")
    if latent_dim is not None and model.input_shape[-1] != latent_dim:
        raise UserError(f"generator {path} takes latent size {model.input_shape[-1]}, not {latent_dim}")
    return model


def load_discriminator(path, image_shape=None):
    """Load a discriminator and check that it maps images (of `image_shape`, if given) to one logit."""
    model = load_model(path)
    if len(model.input_shape) != 4 or tuple(model.output_shape[1:]) != (1,):
        raise UserError(f"{path} is not a discriminator: it maps {model.input_shape} to {model.output_shape}")
    if image_shape is not None and tuple(model.input_shape[1:]) != tuple(image_shape):
        raise UserError(f"discriminator {path} takes images of shape {model.input_shape[1:]}, not {tuple(image_shape)}")
    return model
