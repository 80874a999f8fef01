"""Training for a fixed number of steps whatever the data size (seed 002's training-set size study).

`epochs_for_steps` says how many passes over the data the steps make; `train_for_steps` trains for exactly
that many steps and writes sample grids, history.csv (with the step count), loss.png, progress.gif and the
models as `utils.training.train.train` does.
"""

import json
import sys

import keras

from utils.errors import UserError


def epochs_for_steps(examples, batch_size, total_steps):
    """How many passes over `examples` images `total_steps` full batches make (drop_remainder batching).

    Args:
        examples: training examples.
        batch_size: images per step.
        total_steps: the fixed number of training steps.

    Returns:
        {"examples", "steps_per_epoch", "epochs" (float), "steps"}.

    Raises:
        UserError: the batch is larger than the data, or `total_steps` is not positive.
    """
    if batch_size > examples:
        raise UserError(f"batch size {batch_size} is larger than the {examples} training examples")
    if total_steps < 1:
        raise UserError(f"the number of steps must be positive, not {total_steps}")
    steps_per_epoch = examples // batch_size
    return {
        "examples": examples,
        "steps_per_epoch": steps_per_epoch,
        "epochs": total_steps / steps_per_epoch,
        "steps": total_steps,
    }


class _StepCount(keras.callbacks.Callback):
    """Put the number of training steps done so far into each report's logs (so history.csv has it)."""

    def __init__(self, steps_per_report):
        super().__init__()
        self.steps_per_report = steps_per_report

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["step"] = float((epoch + 1) * self.steps_per_report)


def train_for_steps(config, out, total_steps, reports=10, verbose=None, log=print):
    """Train for exactly `total_steps` steps whatever the data size, reporting `reports` times.

    `utils.training.train.train` counts epochs: a 100-image subset would need thousands of them (each writing a
    checkpoint and redrawing the GIF) to match the steps of the full set. Here the data is the same endless,
    reshuffled epoch stream that `train` reads, cut into `reports` stretches of equal steps; after each one
    the fixed-noise grid (`samples/epoch_XXXX.png`, XXXX = report), `history.csv` (with "step" and G's sample
    "diversity" columns), `loss.png` and `progress.gif` are written, and at the end the models, as `train` does.

    Args:
        config: as for `utils.training.train.train` ("data", "model", "training"); "epochs" is ignored.
        out: the run folder (created; an earlier run's grids and GIF there are removed).
        total_steps: training steps (batches); must be a multiple of `reports`.
        reports: how many times the outputs are written.
        verbose: Keras `fit` verbosity (a progress bar in notebooks by default).
        log: where progress messages go.

    Returns:
        (the trained `DCGAN`, {"examples", "steps_per_epoch", "epochs", "steps"}).
    """
    from utils.data.load import load_dataset
    from utils.files import check_new_run, check_writable_dir, write_text
    from utils.training.callbacks import History, SampleGrid
    from utils.training.diagnostics import Diagnostics
    from utils.training.models import ModelConfig
    from utils.training.samples import sample_latent
    from utils.training.saving import save_models
    from utils.training.train import SAMPLE_GRID_SIZE, build_trainer

    if reports < 1 or total_steps % reports:
        raise UserError(f"total steps {total_steps} must be a positive multiple of the {reports} reports")
    out = check_writable_dir(out)
    check_new_run(out, overwrite=True)  # an earlier run's grids and GIF frames would mix with this run's
    training = config["training"]
    keras.utils.set_random_seed(training["seed"])
    data = load_dataset(batch_size=training["batch_size"], seed=training["seed"], **config["data"])
    plan = epochs_for_steps(data.num_examples, training["batch_size"], total_steps)
    log(
        f"data: {data.num_examples} images from {data.source}; {total_steps} steps of {training['batch_size']} "
        f"= {plan['epochs']:.4g} epochs"
    )
    model = ModelConfig(**config["model"])
    gan = build_trainer(model, training["learning_rate"], training["beta_1"], training["seed"])
    fixed_noise = sample_latent(SAMPLE_GRID_SIZE, model.latent_dim, training["seed"])
    write_text(out / "config.json", json.dumps({**config, "total_steps": total_steps, "plan": plan}, indent=2) + "\n")
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() or "ipykernel" in sys.modules else 2
    gan.fit(
        data.epochs(0),
        epochs=reports,
        steps_per_epoch=total_steps // reports,
        callbacks=[
            _StepCount(total_steps // reports),
            SampleGrid(fixed_noise, out / "samples", out / "progress.gif"),
            Diagnostics(fixed_noise, log=log),  # puts G's sample diversity into history.csv
            History(out / "history.csv", out / "loss.png"),
        ],
        verbose=verbose,
        shuffle=False,  # the epoch stream shuffles itself
    )
    save_models(gan, out)
    return gan, plan
