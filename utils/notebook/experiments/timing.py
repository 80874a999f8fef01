"""Step time of seed 002's 128x128 generators against the paper's 64x64 one (seed 002 reported 28x and 5x).

`resolution_models` gives the three models, `time_train_steps` times one DCGAN on random images,
`step_times` times several relative to a baseline and `plot_step_times` draws the ratios.
"""

import time

import keras
import numpy as np

from utils.errors import UserError

RESOLUTION_BASELINE = "64x64 paper"


def resolution_models(channels=3, width_divisor=1):
    """Seed 002's two 128x128 models and the paper's 64x64 one they are compared with.

    Args:
        channels: image channels (seed 002: 3).
        width_divisor: divide every width by this (16 in smoke runs: the same shapes, tiny networks).

    Returns:
        {"64x64 paper", "128x128 seed002-doubled", "128x128 seed002-extra-layer"}: `ModelConfig`s. At full width
        and 3 channels G has 18,855,043, 72,926,339 and 19,055,171 trainable parameters.
    """
    from utils.training.config import ARCHITECTURES, model_config

    models = {}
    for label, architecture, size in (
        (RESOLUTION_BASELINE, "paper", 64),
        ("128x128 seed002-doubled", "seed002-doubled", 128),
        ("128x128 seed002-extra-layer", "seed002-extra-layer", 128),
    ):
        preset = {"g_width": 128, "d_width": 128, **ARCHITECTURES[architecture]}
        widths = {key: max(1, preset[key] // width_divisor) for key in ("g_width", "d_width")}
        models[label] = model_config(architecture, image_size=size, channels=channels, **widths)
    return models


def _trainer_input(image_size, channels, batch_size, seed):
    """A generator that yields the same uint8 batch of random images forever (input of `time_train_steps`)."""
    shape = (batch_size, image_size, image_size, channels)
    batch = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)

    def batches():
        while True:
            yield (batch,)

    return batches()


def time_train_steps(model, batch_size, steps, warmup=2, repeats=1, seed=0):
    """Measure the seconds per training step (D update + G update) of a DCGAN.

    Random images stand in for data, so only the networks are timed. `warmup` steps first (they compile the
    step unless it is compiled already), then `repeats` timed runs of `steps` steps each; the fastest run
    counts (the least disturbed by other work on the machine).

    Args:
        model: a `ModelConfig` (a fresh DCGAN is built), or a `DCGAN` that was trained already (e.g. by
            `train_for_steps` with the same batch size: its compiled step is reused and its weights go on
            training on the random images).
        batch_size: images per step.
        steps: timed steps per run.
        warmup: untimed steps before.
        repeats: timed runs.
        seed: seed of the weights (for a `ModelConfig`) and the images.

    Returns:
        {"seconds_per_step", "images_per_second", "runs" (seconds per step of each run), "steps",
        "batch_size", "optimizer_steps" (D updates the DCGAN has made in all), "generator_params",
        "discriminator_params"}.
    """
    from utils.training.models import ModelConfig, trainable_params
    from utils.training.train import build_trainer

    if steps < 1 or warmup < 1 or repeats < 1:
        raise UserError("steps, warmup and repeats must be positive")
    if isinstance(model, ModelConfig):
        keras.utils.set_random_seed(seed)
        gan = build_trainer(model, seed=seed)
        shape = (model.image_size, model.channels)
    else:
        gan = model
        shape = (gan.generator.output_shape[1], gan.generator.output_shape[-1])
    batches = _trainer_input(*shape, batch_size, seed)
    gan.fit(batches, epochs=1, steps_per_epoch=warmup, verbose=0, shuffle=False)
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        gan.fit(batches, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False)  # returns after the last step
        runs.append((time.perf_counter() - start) / steps)
    best = min(runs)
    return {
        "seconds_per_step": best,
        "images_per_second": batch_size / best,
        "runs": runs,
        "steps": steps,
        "batch_size": batch_size,
        "optimizer_steps": int(keras.ops.convert_to_numpy(gan.d_optimizer.iterations)),
        "generator_params": trainable_params(gan.generator),
        "discriminator_params": trainable_params(gan.discriminator),
    }


def step_times(models, baseline, batch_size, steps, warmup=2, repeats=1, seed=0, log=print):
    """`time_train_steps` for several models, with each one's time relative to `baseline`'s.

    Args:
        models: {label: ModelConfig or trained DCGAN}; `baseline` must be one of the labels.
        baseline, batch_size, steps, warmup, repeats, seed: see `time_train_steps`.
        log: called with one line per model.

    Returns:
        {label: time_train_steps result plus "ratio" (its seconds per step / the baseline's)}.
    """
    if baseline not in models:
        raise UserError(f"baseline {baseline!r} is not one of {', '.join(models)}")
    results = {}
    for label, model in models.items():
        results[label] = time_train_steps(model, batch_size, steps, warmup, repeats, seed)
        log(
            f"{label}: {results[label]['seconds_per_step'] * 1000:.1f} ms per step of {batch_size} "
            f"(G {results[label]['generator_params']:,} / D {results[label]['discriminator_params']:,} parameters)"
        )
    for result in results.values():
        result["ratio"] = result["seconds_per_step"] / results[baseline]["seconds_per_step"]
    return results


def plot_step_times(results, baseline, path, reported=None, title=None):
    """Bar chart of step times relative to `baseline`, with the source's reported ratios as markers.

    Args:
        results: `step_times` output.
        baseline: its baseline label.
        path: the PNG to write.
        reported: {label: ratio the source reported} (e.g. seed 002's 28 and 5), drawn as black marks.
        title: the chart's title.
    """
    from matplotlib.figure import Figure

    from utils.files import atomic_path

    labels = list(results)
    ratios = [results[label]["ratio"] for label in labels]
    figure = Figure(figsize=(2.2 * len(labels) + 2.5, 4.2))
    axis = figure.subplots()
    bars = axis.bar(labels, ratios, color="#4c72b0", label="measured")
    axis.bar_label(
        bars,
        labels=[
            f"{ratio:.1f}x\n{results[label]['seconds_per_step'] * 1000:.0f} ms"
            for label, ratio in zip(labels, ratios, strict=True)
        ],
        padding=3,
        fontsize=8,
    )
    if reported:
        marks = [(index, reported[label]) for index, label in enumerate(labels) if label in reported]
        axis.scatter(
            *zip(*marks, strict=True), marker="_", s=900, color="black", zorder=3, label="reported by the source"
        )
    top = max(ratios + [value for value in (reported or {}).values()])
    axis.set(ylabel=f"time per step / {baseline}'s", ylim=(0, top * 1.25), title=title or "Training step time")
    axis.legend(loc="upper left")
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=100, format="png")
