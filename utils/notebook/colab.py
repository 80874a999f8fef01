"""Where a notebook's outputs live: on Google Drive when it runs on Colab (a reset runtime keeps nothing), else here."""

import importlib
from pathlib import Path

DRIVE = Path("/content/drive")  # where Colab mounts Google Drive
DRIVE_FOLDER = "dcgan"  # the toolkit's folder in "My Drive"


def on_colab():
    """Whether this kernel runs on Google Colab (its `google.colab` module can be imported)."""
    try:
        importlib.import_module("google.colab")
    except ImportError:
        return False
    return True


def persist_dirs(persist, *dirs):
    """The notebook's output folders, moved under Google Drive on Colab when `persist` is "drive".

    Args:
        persist: "drive" (mount Google Drive and keep the folders in "My Drive/dcgan/") or None (keep them in
            the clone); ignored outside Colab, where the folders stay relative to the repository.
        dirs: the folders, relative to the repository (e.g. "runs/mnist", "figures", "saved_models").

    Returns:
        The folders to use, as strings, in the order given.

    Raises:
        ValueError: `persist` is neither "drive" nor None.
    """
    if persist not in ("drive", None):
        raise ValueError(f'PERSIST must be "drive" or None, not {persist!r}')
    if persist is None or not on_colab():
        return tuple(str(folder) for folder in dirs)
    from google.colab import drive

    drive.mount(str(DRIVE))
    root = DRIVE / "MyDrive" / DRIVE_FOLDER
    print(f"runs, figures and models are kept on Google Drive, in {root}")
    return tuple(str(root / folder) for folder in dirs)
