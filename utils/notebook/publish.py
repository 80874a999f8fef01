"""What a notebook writes: grids of real images, per-epoch grids, a run's files under the dataset's name, JSON.

`publish_run` copies a finished run's figures and models into the shared `figures/` and `saved_models/`
folders (or the notebook's `FIGURES_DIR` and `MODELS_DIR`) under the file-name form of the dataset's name
(`slug`), adding the per-epoch grids side by side (`epoch_grids`). `save_real_grid`, `save_model` and
`write_json` write the other outputs; every write is atomic.
"""

import json
import math
import shutil
from pathlib import Path


def slug(name):
    """File-name form of a dataset name or alias: "lsun/bedroom" -> "lsun_bedroom", "celeba" -> "celeb_a"."""
    from utils.data.registry import dataset_spec

    return dataset_spec(name)[0].replace("/", "_")


def real_images(config, n=64, split="train"):
    """`n` training images of the run `config` describes (its dataset, size, channels and subset), in [-1, 1].

    Returns:
        (n or fewer, S, S, C) float32 array.
    """
    from utils.data.load import load_dataset

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
        run_dir: a run folder of `utils.training.train.train`.
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
        run_dir: the run folder of `utils.training.train.train`.
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


def save_model(model, path):
    """Save a Keras model to `path` (.keras or .h5) atomically; returns the path."""
    from utils.training.saving import save_model as save

    save(model, path)
    return Path(path)


def classifier(name, path, smoke=False, epochs=5, data_dir=None):
    """A class classifier of `name`'s images (for vector arithmetic): loaded from `path`, else trained and saved there.

    Args:
        name: a labelled dataset.
        path: where the classifier is (or goes): .keras or .h5.
        smoke: train for one epoch on `SMOKE_EXAMPLES` examples instead of `epochs` on the whole training split.
        epochs: passes over the training split.
        data_dir: as `utils.data.load.load_dataset`.

    Returns:
        The loaded or trained Keras classifier.
    """
    from utils.analysis.classifier import train_and_evaluate
    from utils.notebook.run_config import SMOKE_EXAMPLES
    from utils.training.saving import load_model

    path = Path(path)
    if path.is_file():
        print(f"classifier: {path}")
        return load_model(path)
    model, result = train_and_evaluate(
        name, data_dir, epochs=1 if smoke else epochs, subset=SMOKE_EXAMPLES if smoke else None
    )
    save_model(model, path)
    print(f"classifier: trained (test accuracy {result['test_accuracy']:.4f}), saved to {path}")
    return model


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
