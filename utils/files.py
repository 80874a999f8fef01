"""Crash-safe file writing: every output is written beside its target, flushed to disk, then renamed over it."""

import contextlib
import os
import re
import tempfile
from pathlib import Path

from utils.errors import UserError

# Names `atomic_path` gives its temporary files: ".<stem>.<8 random characters>.tmp<suffix>".
TEMPORARY_NAME = re.compile(r"^\..*\.[a-z0-9_]{8}\.tmp(\.[^.]+)?$")


def _fsync(path):
    """Flush the file or folder at `path` to the disk (a no-op where the system refuses)."""
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    except OSError:  # some file systems cannot fsync a folder; the rename is still atomic
        pass
    finally:
        os.close(handle)


@contextlib.contextmanager
def atomic_path(path, what="file"):
    """Yield a temporary path next to `path`; flush it and rename it over `path` only if the block succeeds.

    The temporary name keeps the suffix of `path`, because Keras picks the file format from it.
    A failed or interrupted write leaves the previous file untouched, and a killed process leaves at most
    a hidden temporary file (see `remove_temporaries`).

    Args:
        path: the final file path.
        what: what the file is, for the error message ("checkpoint", "model", ...).

    Yields:
        The temporary `Path` to write to.

    Raises:
        UserError: the file system refused the write (full disk, no permission, ...).
    """
    path = Path(path)
    existed = path.exists()
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
        os.close(handle)
        os.unlink(tmp)  # Keras and h5py refuse to overwrite some existing files; let the writer create it.
        tmp = Path(tmp)
        yield tmp
        _fsync(tmp)
        os.replace(tmp, path)
        _fsync(path.parent)
    except OSError as exc:
        if exc.errno is None:  # a writer's own complaint (e.g. an unsupported image mode), not the disk's
            raise
        kept = f"previous {what} kept" if existed else "nothing written"
        raise UserError(f"cannot write {what} {path}: {exc.strerror or exc} ({kept})") from None
    finally:
        if tmp is not None and tmp.exists():
            tmp.unlink()


def write_text(path, text):
    """Write `text` to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def remove_temporaries(folder):
    """Delete the temporary files that killed writers left under `folder` (recursively).

    Args:
        folder: a run folder.

    Returns:
        How many files were removed.
    """
    removed = 0
    for path in Path(folder).rglob(".*"):
        if TEMPORARY_NAME.match(path.name) and path.is_file() and not path.is_symlink():
            path.unlink(missing_ok=True)
            removed += 1
    return removed


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
