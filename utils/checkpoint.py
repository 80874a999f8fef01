"""Training checkpoints: G, D, both optimizers, the noise RNG, the fixed noise and the epoch in one .npz."""

import os
import zipfile
from pathlib import Path

import numpy as np
from keras import ops

from utils.errors import UserError
from utils.files import atomic_path


def _groups(gan):
    """The variables a checkpoint holds, by group name, in a stable order."""
    return {
        "generator": gan.generator.weights,
        "discriminator": gan.discriminator.weights,
        "g_optimizer": gan.g_optimizer.variables,
        "d_optimizer": gan.d_optimizer.variables,
        "rng": [gan.seed_generator.state],
    }


def save_checkpoint(gan, path, epoch, fixed_noise, **extra):
    """Write a complete checkpoint to `path` atomically (temporary file, fsync, rename).

    Args:
        gan: a compiled `DCGAN`.
        path: the `.npz` file.
        epoch: epochs completed.
        fixed_noise: the z of the per-epoch sample grids.
        **extra: more scalars to keep (e.g. the monitored value).
    """
    arrays = {"epoch": np.array(epoch), "fixed_noise": np.asarray(fixed_noise)}
    arrays.update({key: np.array(value) for key, value in extra.items()})
    for group, variables in _groups(gan).items():
        for index, variable in enumerate(variables):
            arrays[f"{group}/{index:04d}"] = ops.convert_to_numpy(variable)
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)
        handle.flush()
        os.fsync(handle.fileno())


def load_checkpoint(gan, path):
    """Restore a checkpoint written by `save_checkpoint` into `gan`.

    Args:
        gan: a compiled `DCGAN` with the same architecture.
        path: the `.npz` file.

    Returns:
        dict with "epoch" (int), "fixed_noise" (array) and any extra scalars.

    Raises:
        UserError: the file is unreadable or does not match the model.
    """
    path = Path(path)
    try:
        with np.load(path) as data:
            arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        raise UserError(f"cannot read checkpoint {path}: {exc}") from None
    # Check every group before assigning anything, so a mismatch leaves the model untouched.
    pairs = []
    for group, variables in _groups(gan).items():
        stored = sorted(key for key in arrays if key.startswith(group + "/"))
        if len(stored) != len(variables):
            raise UserError(
                f"checkpoint {path} does not match the model ({group}: {len(stored)} vs {len(variables)} variables)"
            )
        for key, variable in zip(stored, variables, strict=True):
            if tuple(arrays[key].shape) != tuple(variable.shape):
                raise UserError(
                    f"checkpoint {path} does not match the model "
                    f"({group} {variable.path}: shape {arrays[key].shape} vs {tuple(variable.shape)})"
                )
            pairs.append((variable, arrays[key]))
    for variable, value in pairs:
        variable.assign(value)
    state = {key: value for key, value in arrays.items() if "/" not in key}
    state["epoch"] = int(state["epoch"])
    return state
