"""Run a training job end to end: data, models, callbacks, fit, saved models; and resume one."""

import json
import math
import platform
import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from utils.callbacks import Checkpoint, History, NonFiniteGuard, SampleGrid, read_history
from utils.checkpoint import load_checkpoint
from utils.data import load_dataset
from utils.diagnostics import Diagnostics
from utils.errors import UserError
from utils.files import check_new_run, check_writable_dir, remove_temporaries, write_text
from utils.folder import describe_skipped
from utils.gan import DCGAN
from utils.models import ModelConfig, build_discriminator, build_generator
from utils.samples import sample_latent
from utils.saving import save_models

SAMPLE_GRID_SIZE = 64  # images in each per-epoch grid (8x8)


def build_trainer(model, learning_rate=2e-4, beta_1=0.5, seed=0):
    """Build G and D for a `ModelConfig` and wrap them in a compiled `DCGAN` with the paper's Adam.

    Returns:
        The compiled `DCGAN`.
    """
    gan = DCGAN(build_generator(model), build_discriminator(model), seed=seed)
    gan.compile(
        d_optimizer=keras.optimizers.Adam(learning_rate, beta_1=beta_1),
        g_optimizer=keras.optimizers.Adam(learning_rate, beta_1=beta_1),
    )
    return gan


def _versions():
    import numpy
    import tensorflow

    return {
        "python": platform.python_version(),
        "keras": keras.__version__,
        "tensorflow": tensorflow.__version__,
        "numpy": numpy.__version__,
        "backend": keras.backend.backend(),
    }


def train(config, out, resume=False, overwrite=False, verbose=None, log=print):
    """Train (or resume) one run described by `config`, writing everything into `out`.

    Args:
        config: dict with "data" (load_dataset arguments), "model" (ModelConfig fields) and "training"
            (epochs, batch_size, learning_rate, beta_1, seed, monitor and optionally deterministic).
        out: the run folder.
        resume: continue from `out/checkpoints/last.npz` up to config["training"]["epochs"] epochs; a run
            folder with a config.json but no checkpoint yet (killed during its first epoch) starts at epoch 0.
        overwrite: start afresh in a folder that holds a run (else that is an error, unless resuming).
        verbose: Keras `fit` verbosity; by default a progress bar in terminals and notebooks, else a line per epoch.
        log: where progress messages go.

    Returns:
        (the trained `DCGAN`, its Keras `History`).

    Raises:
        UserError: bad input, a missing checkpoint, losses that became NaN/Inf, or a file that cannot be written.
        KeyboardInterrupt: Ctrl-C (or SIGTERM, see `utils.cli`); `last.npz` then holds the weights reached.
    """
    out = check_writable_dir(out)
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() or "ipykernel" in sys.modules else 2
    checkpoints = out / "checkpoints"
    has_checkpoint = (checkpoints / "last.npz").is_file()
    if resume and not has_checkpoint and not (out / "config.json").is_file():
        raise UserError(f"no checkpoint to resume in {checkpoints}")
    if not resume:
        check_new_run(out, overwrite)
    if removed := remove_temporaries(out):
        log(f"removed {removed} partly written temporary file(s) left by an interrupted run")
    training = config["training"]
    keras.utils.set_random_seed(training["seed"])
    if training.get("deterministic"):
        tf.config.experimental.enable_op_determinism()

    data = load_dataset(batch_size=training["batch_size"], seed=training["seed"], **config["data"])
    model = ModelConfig(**config["model"])
    if (data.image_size, data.channels) != (model.image_size, model.channels):
        raise UserError(
            f"data is {data.image_size}x{data.image_size}x{data.channels} but the model wants "
            f"{model.image_size}x{model.image_size}x{model.channels}"
        )
    skipped = describe_skipped(data.skipped)
    log(f"data: {data.num_examples} images from {data.source}" + (f" ({skipped})" if skipped else ""))

    gan = build_trainer(model, training["learning_rate"], training["beta_1"], training["seed"])
    fixed_noise = sample_latent(SAMPLE_GRID_SIZE, model.latent_dim, training["seed"])
    start_epoch, best = 0, math.inf
    if resume and has_checkpoint:
        state = _load_last(gan, checkpoints)
        start_epoch, fixed_noise, best = state["epoch"], state["fixed_noise"], float(state.get("best", math.inf))
        for optimizer in (gan.d_optimizer, gan.g_optimizer):  # the config's rate, not the checkpoint's, applies
            optimizer.learning_rate = training["learning_rate"]
        log(f"resuming from epoch {start_epoch} of {training['epochs']}")
    elif resume:
        log(f"no checkpoint yet in {checkpoints}; starting from epoch 0 of {training['epochs']}")
    config = {**config, "versions": _versions()}
    write_text(out / "config.json", json.dumps(config, indent=2) + "\n")

    guard = NonFiniteGuard()
    earlier_rows = [row for row in read_history(out / "history.csv") if row["epoch"] <= start_epoch]
    earlier_diversity = max((row["diversity"] for row in earlier_rows if "diversity" in row), default=None)
    checkpoint = Checkpoint(checkpoints, fixed_noise, training.get("monitor", "g_loss"), best, start_epoch)
    callbacks = [  # History before Checkpoint: see History
        guard,
        SampleGrid(fixed_noise, out / "samples", out / "progress.gif"),
        Diagnostics(fixed_noise, log=log, reference_diversity=earlier_diversity),  # logs "diversity" for History
        History(out / "history.csv", out / "loss.png", start_epoch),
        checkpoint,
        keras.callbacks.TensorBoard(out / "logs", write_graph=False),
    ]
    try:
        history = gan.fit(
            data.epochs(start_epoch),  # each epoch's order depends on (seed, epoch) only: resumes replay it
            epochs=training["epochs"],
            initial_epoch=start_epoch,
            steps_per_epoch=data.steps_per_epoch,
            callbacks=callbacks,
            verbose=verbose,
            shuffle=False,  # the pipeline shuffles itself
        )
    except KeyboardInterrupt:
        # Keep the partly trained weights; the interrupted epoch is run again on resume.
        checkpoint.save_now()
        raise
    if guard.failure:
        raise UserError(
            f"training diverged: NaN/Inf loss at {guard.failure}; stopped and {_kept(checkpoints)}; "
            "resume with a lower --learning-rate to go on"
        )
    save_models(gan, out)
    log(f"done: models, samples/, progress.gif, loss.png and history.csv are in {out}")
    return gan, history


def _load_last(gan, checkpoints):
    """Load `last.npz` into `gan`; when it cannot be read, say that `best.npz` may still serve."""
    try:
        return load_checkpoint(gan, checkpoints / "last.npz")
    except UserError as exc:
        if (checkpoints / "best.npz").is_file():
            raise UserError(f"{exc}; {checkpoints / 'best.npz'} may still be good: copy it over last.npz") from None
        raise


def _kept(checkpoints):
    """Which checkpoints a stopped run leaves, with their epochs, for the error message."""
    kept = []
    for name, what in (("last", "the last good checkpoint"), ("best", "the best")):
        try:
            with np.load(checkpoints / f"{name}.npz") as saved:
                kept.append(f"{what} {checkpoints / name}.npz (epoch {int(saved['epoch'])})")
        except (OSError, ValueError, KeyError):
            pass
    return "kept " + " and ".join(kept) if kept else "no checkpoint had been written yet"


def load_config(out):
    """Read `out/config.json`; UserError when it is missing or broken."""
    path = Path(out) / "config.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read run configuration {path}: {exc}") from None
