"""Helpers for the notebooks: environment setup and offline smoke data, with every other helper re-exported.

The notebooks in `notebooks/` stay thin: a setup cell, a `parameters` cell (papermill fills it), then calls
into these helpers, into `utils.training` and into the analyses of `utils.analysis`, the same functions that
`dcgan.py`'s commands call. With `SMOKE = True` every notebook trains tiny models for a few steps on mock
(tensorflow-datasets), local (Fashion-MNIST IDX files) or generated (a folder of PNG files) data, so the test
suite can execute each of them end to end on a CPU.

This module holds the session: `setup`, the mock data of smoke runs (`use_smoke_data`) and `show`. The other
helpers live in sibling modules and are re-exported here, so a notebook needs only `from utils import notebook`:

- `utils.notebook.colab`: `on_colab`, `persist_dirs` (outputs on Google Drive on Colab);
- `utils.notebook.rerun`: `train_run`, which continues a run when the training cell runs again;
- `utils.notebook.run_config`: `training_config`, `summaries` and the smoke sizes `SMOKE_MODEL`, `SMOKE_TRAINING`,
  `SMOKE_EXAMPLES`;
- `utils.notebook.publish`: `slug`, `real_images`, `save_real_grid`, `pick_epochs`, `epoch_grids`, `publish_run`,
  `save_model`, `classifier`, `write_json`;
- `utils.data.examples`: `make_image_folder`, `write_digits_folder`.

The notebooks import this module before `setup` has installed the requirements, so none of these modules
imports Keras or another third-party package until one of its functions runs.
"""

import contextlib
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from utils.data.examples import make_image_folder, write_digits_folder
from utils.notebook import versions
from utils.notebook.colab import on_colab, persist_dirs
from utils.notebook.publish import (
    classifier,
    epoch_grids,
    pick_epochs,
    publish_run,
    real_images,
    save_model,
    save_real_grid,
    slug,
    write_json,
)
from utils.notebook.rerun import train_run
from utils.notebook.run_config import SMOKE_EXAMPLES, SMOKE_MODEL, SMOKE_TRAINING, summaries, training_config
from utils.training.quiet import quiet_tensorflow

__all__ = [
    "BACKEND_MODULES",
    "REQUIRED_MODULES",
    "ROOT",
    "SMOKE_EXAMPLES",
    "SMOKE_MODEL",
    "SMOKE_TRAINING",
    "classifier",
    "epoch_grids",
    "make_image_folder",
    "on_colab",
    "persist_dirs",
    "pick_epochs",
    "publish_run",
    "real_images",
    "save_model",
    "save_real_grid",
    "setup",
    "show",
    "slug",
    "smoke_data",
    "stop_smoke_data",
    "summaries",
    "train_run",
    "training_config",
    "use_smoke_data",
    "write_digits_folder",
    "write_json",
]

ROOT = Path(__file__).resolve().parents[2]
REQUIRED_MODULES = ("keras", "numpy", "matplotlib", "cv2", "PIL", "sklearn")
# What each backend needs on top; a JAX or PyTorch GPU machine without TensorFlow reads IDX files and folders.
BACKEND_MODULES = {"tensorflow": ("tensorflow", "tensorflow_datasets"), "jax": ("jax",), "torch": ("torch",)}

_smoke_stack = contextlib.ExitStack()
_smoke_active = False


def setup(install=True, verbose=False):
    """Prepare a notebook session on Colab or a VM: install or upgrade requirements, report backend and devices.

    Args:
        install: pip-install requirements.txt when a module that the backend (KERAS_BACKEND, default
            tensorflow) needs is missing or an installed package is outside requirements.txt's bounds (Colab's
            Keras, for one, may be too old to read the saved models); under jax or torch TensorFlow is not needed.
        verbose: show TensorFlow's C++ start-up and log lines (hidden otherwise, see `utils.training.quiet`).

    Returns:
        dict with "backend", "keras", "devices" (e.g. ["CPU:0", "GPU:0"]), "python" (the kernel's
        interpreter) and "root" (the repository).

    Raises:
        RuntimeError: a package is outside requirements.txt's bounds and `install` is False, or it was upgraded
            but an older copy is already loaded in this kernel (restart the runtime, then run the cells again).
    """
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    wanted = REQUIRED_MODULES + BACKEND_MODULES.get(os.environ["KERAS_BACKEND"], ())
    missing = [name for name in wanted if importlib.util.find_spec(name) is None]
    wrong = versions.mismatches(versions.requirements(ROOT / "requirements.txt"))
    if (missing or wrong) and not install:
        if wrong:
            raise RuntimeError(f"wrong versions: {versions.describe(wrong)}; pip install -r requirements.txt")
    elif missing or wrong:
        why = [f"missing: {', '.join(missing)}"] if missing else []
        why += [f"outside its bounds: {versions.describe(wrong)}"] if wrong else []
        print(f"installing requirements.txt ({'; '.join(why)})")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-r", str(ROOT / "requirements.txt")], check=True)
        loaded = [name for name, _, _ in wrong if versions.import_name(name) in sys.modules]
        if loaded:
            raise RuntimeError(
                f"upgraded {', '.join(loaded)}, which this kernel had already imported: restart the runtime "
                "(Colab: Runtime > Restart session) and run the notebook again"
            )
    quiet_tensorflow(verbose)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)  # relative paths (figures/, saved_models/, runs/) are the repository's
    import keras

    devices = keras.distribution.list_devices()
    info = {
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "devices": devices,
        "python": sys.executable,
        "root": str(ROOT),
    }
    print(f"Keras {info['keras']} on {info['backend']}; devices: {', '.join(devices)}")
    if not any("gpu" in device.lower() or "cuda" in device.lower() for device in devices):
        where = "Runtime > Change runtime type > a GPU" if on_colab() else "a machine with a GPU and its drivers"
        print(f"no GPU visible: training runs on the CPU, far slower (for a GPU: {where})")
    print(f"python {info['python']}; repository {info['root']}")
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


def use_smoke_data(enabled, num_examples=SMOKE_EXAMPLES):
    """Serve mock tensorflow-datasets data for the rest of the session when `enabled` (see `smoke_data`).

    Local sources are unaffected: Fashion-MNIST still reads its IDX files when they are installed, and image
    folders are read as they are. Calling it again while active changes nothing; `stop_smoke_data` ends it.

    Returns:
        Whether mock data is being served.
    """
    global _smoke_active
    if enabled and not _smoke_active:
        _smoke_stack.enter_context(smoke_data(True, num_examples))
        _smoke_active = True
        print(f"SMOKE: tensorflow-datasets serves {num_examples} random examples per split (no download)")
    return _smoke_active


def stop_smoke_data():
    """Stop serving mock data (undo `use_smoke_data`)."""
    global _smoke_active
    _smoke_stack.close()
    _smoke_active = False


def show(path, width=None):
    """Display an image file (PNG or GIF) inline in the notebook; print its path where IPython is not installed."""
    try:
        from IPython.display import Image, display
    except ImportError:  # run as a script by utils.notebook.run_notebook
        print(f"figure: {path}")
        return
    display(Image(filename=str(path), width=width))
