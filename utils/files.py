"""Crash-safe file writing: every output is written beside its target, then renamed over it."""

import contextlib
import os
import tempfile
from pathlib import Path

from utils.errors import UserError


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path next to `path`; rename it over `path` only if the block succeeds.

    The temporary name keeps the suffix of `path`, because Keras picks the file format from it.
    A failed or interrupted write leaves the previous file untouched.

    Args:
        path: the final file path.

    Yields:
        The temporary `Path` to write to.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(handle)
    os.unlink(tmp)  # Keras and h5py refuse to overwrite some existing files; let the writer create it.
    tmp = Path(tmp)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text(path, text):
    """Write `text` to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def check_writable_dir(path):
    """Create `path` if needed and prove it is a writable folder.

    Args:
        path: the output folder.

    Returns:
        The folder as a `Path`.

    Raises:
        UserError: `path` is a file, or the folder cannot be created or written.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UserError(f"--out {path} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise UserError(f"--out {path} is not writable: {exc.strerror or exc}") from None
    return path


def check_new_run(out, overwrite=False):
    """Refuse to start a new run in a folder holding one, unless `overwrite`; then clear its old outputs.

    Args:
        out: the run folder.
        overwrite: remove the old run's sample grids, GIF and checkpoints instead of refusing.

    Raises:
        UserError: `out` holds a run (config.json) and `overwrite` is False.
    """
    out = Path(out)
    if not (out / "config.json").exists():
        return
    if not overwrite:
        raise UserError(
            f"--out {out} already holds a run; continue it with 'python dcgan.py resume --out {out}' "
            "or pass --overwrite to start again"
        )
    for old in [*out.glob("samples/epoch_*.png"), *out.glob("checkpoints/*.npz"), out / "progress.gif"]:
        old.unlink(missing_ok=True)
