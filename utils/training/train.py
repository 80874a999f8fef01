"""Run a training job end to end: data, models, callbacks, fit, saved models; and resume one."""

import contextlib
import importlib.util
import json
import math
import platform
import sys
import tempfile
from pathlib import Path

import keras
import numpy as np

from utils.data.epochs import steps_per_call
from utils.data.folder import describe_skipped
from utils.data.load import load_dataset
from utils.errors import UserError
from utils.files import check_new_run, check_writable_dir, remove_temporaries, write_text
from utils.training.backends import DCGAN, data_parallel, make_deterministic
from utils.training.callbacks import (
    Checkpoint,
    EpochTensorBoard,
    History,
    NonFiniteGuard,
    SampleGrid,
    StopCheck,
    read_history,
)
from utils.training.checkpoint import describe_kept, load_last
from utils.training.config import PRECISIONS
from utils.training.diagnostics import Diagnostics
from utils.training.models import ModelConfig, build_discriminator, build_generator
from utils.training.parallel import Parallel
from utils.training.samples import sample_latent
from utils.training.saving import save_models

SAMPLE_GRID_SIZE = 64  # images in each per-epoch grid (8x8)


def build_trainer(
    model, learning_rate=2e-4, beta_1=0.5, seed=0, precision="float32", reuse_fakes=False, steps_per_execution=1
):
    """Build G and D for a `ModelConfig` and wrap them in a compiled `DCGAN` with the paper's Adam.

    Args:
        model: a `ModelConfig`.
        learning_rate, beta_1: Adam settings of both networks.
        seed: seed of the trainer's noise.
        precision: "float32", "mixed_bfloat16" or "mixed_float16" (with dynamic loss scaling); G's tanh
            output and D's logit stay float32 in every case.
        reuse_fakes: the G step reuses the D step's generated images (see `DCGANBase`).
        steps_per_execution: training steps per call of fit's train function (Keras' `compile` argument).

    Returns:
        The compiled `DCGAN`.
    """
    if precision not in PRECISIONS:
        raise UserError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)  # layers take the policy when they are created
    try:
        gan = DCGAN(build_generator(model), build_discriminator(model), seed=seed, reuse_fakes=reuse_fakes)
    finally:
        keras.config.set_dtype_policy(previous)

    def adam():
        optimizer = keras.optimizers.Adam(learning_rate, beta_1=beta_1)
        return keras.optimizers.LossScaleOptimizer(optimizer) if precision == "mixed_float16" else optimizer

    gan.compile(d_optimizer=adam(), g_optimizer=adam(), steps_per_execution=steps_per_execution)
    return gan


def _versions():
    versions = {
        "python": platform.python_version(),
        "keras": keras.__version__,
        "numpy": np.__version__,
        "backend": keras.backend.backend(),
    }
    for module in ("tensorflow", "jax", "torch"):
        if module == keras.backend.backend() or (module == "tensorflow" and _has("tensorflow")):
            versions[module] = __import__(module).__version__
    return versions


def has_tensorboard():
    """Whether a run writes TensorBoard logs: TensorBoard's writer is TensorFlow's, not installed on every machine."""
    return _has("tensorflow")


def _has(module):
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a blocked or half-imported module
        return False


def train(config, out, resume=False, overwrite=False, verbose=None, log=print):
    """Train (or resume) one run described by `config`, writing everything into `out`.

    Args:
        config: dict with "data" (load_dataset arguments), "model" (ModelConfig fields) and "training"
            (epochs, batch_size, learning_rate, beta_1, seed, monitor and optionally deterministic, precision,
            data_parallel, reuse_fakes, steps_per_execution: at most this many steps per call, see
            `utils.data.epochs.steps_per_call`).
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
    training = config["training"]
    keras.utils.set_random_seed(training["seed"])
    if training.get("deterministic"):
        make_deterministic()  # before JAX starts: it reads its XLA flags then
    with contextlib.ExitStack() as stack:
        # Joining several JAX processes must precede any JAX computation.
        parallel = stack.enter_context(data_parallel()) if training.get("data_parallel") else Parallel(1)
        if training["batch_size"] % parallel.devices:
            raise UserError(
                f"--batch-size {training['batch_size']} must be a multiple of the {parallel.devices} devices"
            )
        saved = out  # the run's files are read from here
        if not parallel.writes:  # another process writes them; this one's copies go to a folder deleted at the end
            out = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="dcgan-process-")))
        has_checkpoint = _open_run(saved, out, resume, overwrite, log)
        checkpoints = out / "checkpoints"

        data = load_dataset(batch_size=training["batch_size"], seed=training["seed"], **config["data"])
        model = ModelConfig(**config["model"])
        if (data.image_size, data.channels) != (model.image_size, model.channels):
            raise UserError(
                f"data is {data.image_size}x{data.image_size}x{data.channels} but the model wants "
                f"{model.image_size}x{model.image_size}x{model.channels}"
            )
        skipped = describe_skipped(data.skipped)
        log(f"data: {data.num_examples} images from {data.source}" + (f" ({skipped})" if skipped else ""))
        if training.get("data_parallel"):
            processes = f", process {parallel.process} of {parallel.processes}" if parallel.processes > 1 else ""
            per_device = training["batch_size"] // parallel.devices
            log(f"data-parallel over {parallel.devices} devices: {per_device} images per device and step{processes}")
        requested = training.get("steps_per_execution", 1)
        steps_per_execution = steps_per_call(requested, data.steps_per_epoch)
        if steps_per_execution != requested:
            log(
                f"{steps_per_execution} steps per execution: the most up to {requested} that divide the "
                f"{data.steps_per_epoch} steps of an epoch"
            )
        gan = build_trainer(
            model,
            training["learning_rate"],
            training["beta_1"],
            training["seed"],
            training.get("precision", "float32"),
            training.get("reuse_fakes", False),
            steps_per_execution,
        )
        fixed_noise = sample_latent(SAMPLE_GRID_SIZE, model.latent_dim, training["seed"])
        start_epoch, best = 0, math.inf
        if resume and has_checkpoint:
            state = load_last(gan, saved / "checkpoints")
            start_epoch, fixed_noise, best = state["epoch"], state["fixed_noise"], float(state.get("best", math.inf))
            for optimizer in (gan.d_optimizer, gan.g_optimizer):  # the config's rate, not the checkpoint's, applies
                optimizer.learning_rate = training["learning_rate"]
            log(f"resuming from epoch {start_epoch} of {training['epochs']}")
        elif resume:
            log(f"no checkpoint yet in {saved / 'checkpoints'}; starting from epoch 0 of {training['epochs']}")
        config = {**config, "versions": _versions()}
        write_text(out / "config.json", json.dumps(config, indent=2) + "\n")

        guard = NonFiniteGuard()
        earlier_rows = [row for row in read_history(saved / "history.csv") if row["epoch"] <= start_epoch]
        earlier_diversity = max((row["diversity"] for row in earlier_rows if "diversity" in row), default=None)
        checkpoint = Checkpoint(checkpoints, fixed_noise, training.get("monitor", "g_loss"), best, start_epoch)
        callbacks = [  # History before Checkpoint: see History
            guard,
            SampleGrid(fixed_noise, out / "samples", out / "progress.gif"),
            Diagnostics(fixed_noise, log=log, reference_diversity=earlier_diversity),  # logs "diversity" for History
            History(out / "history.csv", out / "loss.png", start_epoch),
            checkpoint,
        ]
        if has_tensorboard():
            callbacks.append(EpochTensorBoard(out / "logs", write_graph=False))
        callbacks.append(StopCheck())  # last: an epoch's outputs are all written before it stops the run
        try:
            history = gan.fit(
                # Each epoch's order depends on (seed, epoch) only, so resumes replay it; each process feeds its part.
                data.epochs(start_epoch, (parallel.shard, parallel.shards)),
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
                f"training diverged: NaN/Inf loss at {guard.failure}; stopped and {describe_kept(checkpoints)}; "
                "resume with a lower --learning-rate to go on"
            )
        save_models(gan, out)
    log(f"done: models, samples/, progress.gif, loss.png and history.csv are in {saved}")
    return gan, history


def _open_run(saved, out, resume, overwrite, log):
    """Check that the run in `saved` may start or resume, and clear `out` (where files will be written) for it.

    Returns:
        Whether `saved` holds a checkpoint to resume from.
    """
    has_checkpoint = (saved / "checkpoints" / "last.npz").is_file()
    if resume and not has_checkpoint and not (saved / "config.json").is_file():
        raise UserError(f"no checkpoint to resume in {saved / 'checkpoints'}")
    if not resume:
        check_new_run(out, overwrite)
    if removed := remove_temporaries(out):
        log(f"removed {removed} partly written temporary file(s) left by an interrupted run")
    return has_checkpoint
