"""Training checkpoints: G, D, both optimizers, the noise RNGs, the fixed noise and the epoch in one .npz."""

import os
import shutil
import time
import zipfile
from pathlib import Path

import numpy as np
from keras import ops

from utils.errors import UserError
from utils.files import atomic_path

# Test hook: seconds to wait between writing a checkpoint's temporary file and renaming it over the old one,
# so that tests can kill the process in the middle of a checkpoint write. Unset (no wait) in normal use.
SLOW_WRITE_VARIABLE = "DCGAN_TEST_SLOW_CHECKPOINT_S"


def _seed_states(model):
    """The states of the random-seed generators inside `model`'s layers (e.g. Dropout), in a stable order."""
    weights = {id(weight) for weight in model.weights}
    return [variable for variable in model.variables if id(variable) not in weights]


def _groups(gan):
    """The variables a checkpoint holds, by group name, in a stable order."""
    return {
        "generator": gan.generator.weights,
        "discriminator": gan.discriminator.weights,
        "g_optimizer": gan.g_optimizer.variables,
        "d_optimizer": gan.d_optimizer.variables,
        "rng": [gan.seed_generator.state, *_seed_states(gan.generator), *_seed_states(gan.discriminator)],
    }


def _test_pause():
    """Wait `$DCGAN_TEST_SLOW_CHECKPOINT_S` seconds when a test asks for it (see `SLOW_WRITE_VARIABLE`)."""
    delay = float(os.environ.get(SLOW_WRITE_VARIABLE) or 0)
    if delay > 0:
        time.sleep(delay)


def save_checkpoint(gan, path, epoch, fixed_noise, **extra):
    """Write a complete checkpoint to `path` atomically (temporary file, fsync, rename).

    A full disk or a folder that cannot be written raises `UserError` and leaves the previous `path` intact.

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
    with atomic_path(path, "checkpoint") as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)
        _test_pause()


def copy_checkpoint(source, path):
    """Copy the checkpoint file `source` to `path` atomically, as `save_checkpoint` writes one."""
    with atomic_path(path, "checkpoint") as tmp:
        shutil.copyfile(source, tmp)
        _test_pause()


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


def load_last(gan, checkpoints):
    """Load a run's `last.npz` into `gan`; when it cannot be read, say that `best.npz` may still serve.

    Args:
        gan: a compiled `DCGAN` with the run's architecture.
        checkpoints: the run's checkpoints folder.

    Returns:
        The state `load_checkpoint` returns.
    """
    try:
        return load_checkpoint(gan, checkpoints / "last.npz")
    except UserError as exc:
        if (checkpoints / "best.npz").is_file():
            raise UserError(f"{exc}; {checkpoints / 'best.npz'} may still be good: copy it over last.npz") from None
        raise


def describe_kept(checkpoints):
    """Say which checkpoints a stopped run leaves in `checkpoints`, with their epochs, for an error message."""
    kept = []
    for name, what in (("last", "the last good checkpoint"), ("best", "the best")):
        try:
            with np.load(checkpoints / f"{name}.npz") as saved:
                kept.append(f"{what} {checkpoints / name}.npz (epoch {int(saved['epoch'])})")
        except (OSError, ValueError, KeyError):
            pass
    return "kept " + " and ".join(kept) if kept else "no checkpoint had been written yet"
