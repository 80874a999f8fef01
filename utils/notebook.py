"""Helpers for the notebooks: environment setup, offline smoke data, run settings, outputs and inline figures.

The notebooks in `notebooks/` stay thin: a setup cell, a `parameters` cell (papermill fills it), then calls
into these helpers and into the analysis commands (`run_command` runs `dcgan.py COMMAND` in the kernel and
returns its JSON result). With `SMOKE = True` every notebook trains tiny models for a few steps on mock
(tensorflow-datasets), local (Fashion-MNIST IDX files) or generated (a folder of PNG files) data, so the test
suite can execute each of them end to end on a CPU.
"""

import contextlib
import dataclasses
import importlib.util
import io
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQUIRED_MODULES = ("keras", "numpy", "matplotlib", "cv2", "PIL", "sklearn")
# What each backend needs on top; a JAX or PyTorch GPU machine without TensorFlow reads IDX files and folders.
BACKEND_MODULES = {"tensorflow": ("tensorflow", "tensorflow_datasets"), "jax": ("jax",), "torch": ("torch",)}

# Smoke runs: tiny networks, a couple of epochs, a few batches per epoch.
SMOKE_MODEL = {"g_width": 8, "d_width": 8}
SMOKE_TRAINING = {"epochs": 2, "batch_size": 16, "subset": 64}
SMOKE_EXAMPLES = 128  # examples per split of the mock tensorflow-datasets data

_smoke_stack = contextlib.ExitStack()
_smoke_active = False


def setup(install=True):
    """Prepare a notebook session on Colab or a VM: install missing requirements, report backend and devices.

    Args:
        install: pip-install requirements.txt when a module that the backend (KERAS_BACKEND, default
            tensorflow) needs is missing; under jax or torch TensorFlow is not needed.

    Returns:
        dict with "backend", "keras", "devices" (e.g. ["CPU:0", "GPU:0"]), "python" (the kernel's
        interpreter) and "root" (the repository).
    """
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    wanted = REQUIRED_MODULES + BACKEND_MODULES.get(os.environ["KERAS_BACKEND"], ())
    missing = [name for name in wanted if importlib.util.find_spec(name) is None]
    if missing and install:
        print(f"installing requirements.txt (missing: {', '.join(missing)})")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-r", str(ROOT / "requirements.txt")], check=True)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
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


def slug(name):
    """File-name form of a dataset name or alias: "lsun/bedroom" -> "lsun_bedroom", "celeba" -> "celeb_a"."""
    from utils.datasets import dataset_spec

    return dataset_spec(name)[0].replace("/", "_")


def training_config(
    name,
    epochs,
    batch_size,
    image_size=None,
    channels=None,
    subset=None,
    seed=0,
    data_dir=None,
    architecture="paper",
    smoke=False,
    learning_rate=2e-4,
    beta_1=0.5,
    **model,
):
    """The configuration `utils.train.train` takes, built as `dcgan.py train` builds it from its flags.

    Args:
        name: dataset name or alias.
        epochs, batch_size, subset, seed, learning_rate, beta_1: training settings (`dcgan.py train` flags).
        image_size, channels: the dataset's (or the preset's) own when None.
        data_dir: IDX folder, image folder or tensorflow-datasets data_dir.
        architecture: a preset of `utils.config.ARCHITECTURES`.
        smoke: replace the sizes by `SMOKE_TRAINING` and the widths by `SMOKE_MODEL` (explicit `model`
            settings still apply, so a smoke run keeps e.g. the latent size it studies).
        **model: `ModelConfig` fields overriding the preset (latent_dim, g_batchnorm, ...).

    Returns:
        dict with "data", "model" and "training" as `utils.train.train` wants it.
    """
    from utils.config import ARCHITECTURES, model_config
    from utils.datasets import dataset_spec

    canonical, spec = dataset_spec(name)
    if smoke:
        epochs = min(epochs, SMOKE_TRAINING["epochs"])
        batch_size = SMOKE_TRAINING["batch_size"]
        subset = min(subset or SMOKE_TRAINING["subset"], SMOKE_TRAINING["subset"])
        model = {**SMOKE_MODEL, **model}
    preset = ARCHITECTURES.get(architecture, {})
    settings = model_config(
        architecture,
        image_size=image_size or preset.get("image_size") or spec.image_size,
        channels=channels or spec.channels,
        **model,
    )
    return {
        "data": {
            "name": canonical,
            "data_dir": None if data_dir is None else str(data_dir),
            "subset": subset,
            "image_size": settings.image_size,
            "channels": settings.channels,
        },
        "model": dataclasses.asdict(settings),
        "training": {
            "epochs": epochs,
            "batch_size": batch_size,
            "learning_rate": learning_rate,
            "beta_1": beta_1,
            "seed": seed,
            "monitor": "g_loss",
            "deterministic": False,
        },
    }


def summaries(config):
    """Print the Keras summaries of G and D for a run configuration (`training_config`) or a `ModelConfig`.

    Returns:
        {"generator": trainable parameters, "discriminator": trainable parameters}.
    """
    from utils.models import ModelConfig, build_discriminator, build_generator, trainable_params

    model = config if isinstance(config, ModelConfig) else ModelConfig(**config["model"])
    generator, discriminator = build_generator(model), build_discriminator(model)
    generator.summary()
    discriminator.summary()
    counts = {"generator": trainable_params(generator), "discriminator": trainable_params(discriminator)}
    print(f"trainable parameters: G {counts['generator']:,}, D {counts['discriminator']:,}")
    return counts


def real_images(config, n=64, split="train"):
    """`n` training images of the run `config` describes (its dataset, size, channels and subset), in [-1, 1].

    Returns:
        (n or fewer, S, S, C) float32 array.
    """
    from utils.data import load_dataset

    data = config["data"]
    loaded = load_dataset(
        data["name"],
        data["image_size"],
        data["channels"],
        batch_size=min(n, 256),
        data_dir=data["data_dir"],
        subset=data["subset"],
        seed=config["training"]["seed"],
        split=split,
        drop_remainder=False,
    )
    return loaded.sample(n)


def save_real_grid(config, path, n=64):
    """Write a grid of `n` real training images of `config`'s data to `path` (PNG); returns the path."""
    from utils.images import save_grid

    save_grid(real_images(config, n), path)
    return Path(path)


def pick_epochs(available, shown):
    """Which of `available` epochs (sorted ints) to show when at most `shown` fit: evenly spaced, first and last.

    Returns:
        Sorted list of epochs.
    """
    available = sorted(available)
    if len(available) <= shown:
        return available
    if shown == 1:
        return [available[-1]]
    positions = {round(i * (len(available) - 1) / (shown - 1)) for i in range(shown)}
    return [available[i] for i in sorted(positions)]


def epoch_grids(run_dir, path, shown=6):
    """Draw the per-epoch sample grids of a run (`samples/epoch_XXXX.png`) side by side into `path` (PNG).

    Args:
        run_dir: a run folder of `utils.train.train`.
        path: the PNG to write.
        shown: at most this many epochs, evenly spaced, always the first and the last.

    Returns:
        The epochs shown.
    """
    from matplotlib.figure import Figure
    from PIL import Image

    from utils.files import atomic_path

    grids = {int(grid.stem.split("_")[1]): grid for grid in Path(run_dir, "samples").glob("epoch_*.png")}
    if not grids:
        raise FileNotFoundError(f"no samples/epoch_*.png in {run_dir}")
    epochs = pick_epochs(grids, shown)
    figure = Figure(figsize=(2.6 * len(epochs), 2.9))
    axes = figure.subplots(1, len(epochs), squeeze=False)[0]
    for axis, epoch in zip(axes, epochs, strict=True):
        with Image.open(grids[epoch]) as image:
            axis.imshow(image.convert("RGB"))
        axis.set_title(f"epoch {epoch}")
        axis.axis("off")
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=100, format="png")
    return epochs


def _copy(source, target):
    from utils.files import atomic_path

    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)
    return Path(target)


def publish_run(run_dir, name, figures_dir, models_dir):
    """Copy a finished run's figures and models to their shared folders under the dataset's name.

    Figures: `<name>_loss.png`, `<name>_progress.gif`, `<name>_samples.png` (the last epoch's grid) and
    `<name>_epochs.png` (per-epoch grids side by side). Models: `<name>_generator.h5`/`.keras` and
    `<name>_discriminator.h5`/`.keras`.

    Args:
        run_dir: the run folder of `utils.train.train`.
        name: dataset name (or any prefix); made file-name safe with `slug` when it is a dataset name.
        figures_dir, models_dir: target folders (created if needed).

    Returns:
        {"loss", "progress", "samples", "epochs", "generator", "generator_keras", "discriminator",
        "discriminator_keras"}: the written paths.
    """
    run_dir, figures_dir, models_dir = Path(run_dir), Path(figures_dir), Path(models_dir)
    prefix = _prefix(name)
    last_grid = max(run_dir.glob("samples/epoch_*.png"))
    paths = {
        "loss": _copy(run_dir / "loss.png", figures_dir / f"{prefix}_loss.png"),
        "progress": _copy(run_dir / "progress.gif", figures_dir / f"{prefix}_progress.gif"),
        "samples": _copy(last_grid, figures_dir / f"{prefix}_samples.png"),
    }
    epoch_grids(run_dir, figures_dir / f"{prefix}_epochs.png")
    paths["epochs"] = figures_dir / f"{prefix}_epochs.png"
    for model in ("generator", "discriminator"):
        paths[model] = _copy(run_dir / f"{model}.h5", models_dir / f"{prefix}_{model}.h5")
        paths[f"{model}_keras"] = _copy(run_dir / f"{model}.keras", models_dir / f"{prefix}_{model}.keras")
    return paths


def _prefix(name):
    from utils.errors import UserError

    try:
        return slug(name)
    except UserError:
        return str(name).replace("/", "_")


class _Tee(io.TextIOBase):
    """A text stream that writes to several streams (the notebook's output and a capture buffer)."""

    def __init__(self, *streams):
        super().__init__()
        self.streams = streams

    def write(self, text):
        for stream in self.streams:
            stream.write(text)
        return len(text)

    def flush(self):
        for stream in self.streams:
            stream.flush()

    def isatty(self):
        return False


def command_line(command, *args, **flags):
    """The argument list of `dcgan.py COMMAND`: `rows=8` becomes `--rows 8`, `a_class=9` `--a-class 9`.

    Flags whose value is None are left out; True gives the bare flag and False leaves it out.
    """
    argv = [command, *map(str, args)]
    for key, value in flags.items():
        if value is None or value is False:
            continue
        argv.append("--" + key.replace("_", "-"))
        if value is not True:
            argv.append(str(value))
    return argv


def run_command(command, *args, **flags):
    """Run `dcgan.py COMMAND ARGS --FLAG VALUE ...` inside this process, showing its output; return its result.

    Args:
        command: the subcommand (interpolate, arithmetic, explain, features, neighbours, sample, ...).
        *args: further raw arguments.
        **flags: flags as keywords (see `command_line`), e.g. `run_command("sample", generator=G, n=16, out=P)`.

    Returns:
        The JSON object of the command's last line, or None when the last line is not JSON (train, sample).

    Raises:
        RuntimeError: the command failed; the message holds its `error: ...` line.
    """
    from utils.cli import main

    argv = command_line(command, *args, **flags)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(_Tee(sys.stdout, out)), contextlib.redirect_stderr(_Tee(sys.stderr, err)):
        code = main(argv)
    if code != 0:
        raise RuntimeError(f"dcgan.py {' '.join(argv)} failed with exit code {code}: {err.getvalue().strip()}")
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    try:
        return json.loads(lines[-1]) if lines else None
    except ValueError:
        return None


def classifier(name, path, smoke=False, epochs=5):
    """The path of a class classifier for `dcgan.py arithmetic`: `path` when it exists, else one trained there.

    Args:
        name: a labelled dataset.
        path: where the classifier is (or goes): .keras or .h5.
        smoke: train for one epoch on `SMOKE_EXAMPLES` examples instead of `epochs` on the whole training split.
        epochs: passes over the training split.

    Returns:
        `path` as a `Path`.
    """
    path = Path(path)
    if path.is_file():
        print(f"classifier: {path}")
        return path
    run_command(
        "classifier", dataset=name, out=path, epochs=1 if smoke else epochs, subset=SMOKE_EXAMPLES if smoke else None
    )
    return path


def save_model(model, path):
    """Save a Keras model to `path` (.keras or .h5) atomically; returns the path."""
    from utils.saving import save_model as save

    save(model, path)
    return Path(path)


def make_image_folder(folder, n=64, seed=0):
    """Write `n` synthetic sprite-like PNG images (coloured blobs on white, varied sizes) into `folder`.

    Stands in for a custom folder of pictures (seed 002's Pokemon) in smoke runs: half of the files go
    into a subfolder, since folders are read recursively, and sizes vary so every image is resized.

    Returns:
        The folder as a `Path`.
    """
    import numpy as np
    from PIL import Image, ImageDraw

    folder = Path(folder)
    rng = np.random.default_rng(seed)
    sizes = ((96, 96), (120, 80), (64, 64), (80, 100))
    for index in range(n):
        width, height = sizes[index % len(sizes)]
        image = Image.new("RGB", (width, height), "white")
        draw = ImageDraw.Draw(image)
        for _ in range(int(rng.integers(2, 5))):
            left, top = rng.integers(0, width // 2), rng.integers(0, height // 2)
            right, bottom = left + rng.integers(width // 4, width // 2), top + rng.integers(height // 4, height // 2)
            draw.ellipse(
                (int(left), int(top), int(right), int(bottom)), fill=tuple(int(c) for c in rng.integers(0, 256, 3))
            )
        target = folder / ("nested" if index % 2 else "") / f"sprite_{index:03d}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        image.save(target)
    return folder


def write_digits_folder(folder, size=32):
    """Write scikit-learn's 1,797 handwritten digits (8x8, 17 grey levels) as `size` x `size` PNG files.

    A second small dataset that needs no download, for the folder notebook: white digits on black, scaled up
    with bicubic interpolation, one subfolder per digit.

    Returns:
        The folder as a `Path`.
    """
    import cv2
    import numpy as np
    from sklearn.datasets import load_digits

    folder = Path(folder)
    digits = load_digits()
    for index, (image, label) in enumerate(zip(digits.images, digits.target, strict=True)):
        scaled = cv2.resize((image * (255 / 16)).astype(np.float32), (size, size), interpolation=cv2.INTER_CUBIC)
        target = folder / str(label) / f"digit_{index:04d}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(target), np.clip(np.rint(scaled), 0, 255).astype(np.uint8))
    return folder


def write_json(path, result):
    """Write `result` as indented JSON to `path` (atomically); returns the path."""
    from utils.files import write_text

    def clean(value):
        if isinstance(value, dict):
            return {str(key): clean(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(item) for item in value]
        if hasattr(value, "item"):
            value = value.item()
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return value

    write_text(path, json.dumps(clean(result), indent=2) + "\n")
    return Path(path)


def show(path, width=None):
    """Display an image file (PNG or GIF) inline in the notebook; print its path where IPython is not installed."""
    try:
        from IPython.display import Image, display
    except ImportError:  # run as a script by utils.run_notebook
        print(f"figure: {path}")
        return
    display(Image(filename=str(path), width=width))
