"""Helpers for the notebooks: environment setup, offline smoke data, and showing figures inline."""

import contextlib
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQUIRED_MODULES = ("tensorflow", "keras", "numpy", "matplotlib", "cv2", "tensorflow_datasets", "PIL", "sklearn")


def setup(install=True):
    """Prepare a notebook session on Colab or a VM: install missing requirements, report backend and devices.

    Args:
        install: pip-install requirements.txt when a required module is missing.

    Returns:
        dict with "backend", "keras", "devices" (e.g. ["CPU:0", "GPU:0"]) and "root" (the repository).
    """
    missing = [name for name in REQUIRED_MODULES if importlib.util.find_spec(name) is None]
    if missing and install:
        print(f"installing requirements.txt (missing: {', '.join(missing)})")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-r", str(ROOT / "requirements.txt")], check=True)
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)  # notebooks write into figures/ and saved_models/ of the repository
    import keras

    devices = keras.distribution.list_devices()
    info = {"backend": keras.backend.backend(), "keras": keras.__version__, "devices": devices, "root": str(ROOT)}
    print(f"Keras {info['keras']} on {info['backend']}; devices: {', '.join(devices)}")
    return info


def smoke_data(enabled, num_examples=64):
    """Context that makes tensorflow-datasets serve random images offline, when `enabled` (smoke runs).

    Args:
        enabled: True in smoke runs (SMOKE parameter), False for real data.
        num_examples: examples per split of the mock data.

    Returns:
        A context manager (a no-op when not enabled).
    """
    if not enabled:
        return contextlib.nullcontext()
    import tensorflow_datasets as tfds

    return tfds.testing.mock_data(num_examples=num_examples)


def show(path, width=None):
    """Display an image file (PNG or GIF) inline in the notebook."""
    from IPython.display import Image, display

    display(Image(filename=str(path), width=width))
