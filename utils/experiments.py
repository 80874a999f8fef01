"""The source projects' studies, as functions the experiment notebooks call (see notebooks/README.md).

- training-set size at a fixed number of steps (seed 002): `epochs_for_steps`, `train_for_steps`;
- step time of the 128x128 generators against 64x64 (seed 002: 28x and 5x): `time_train_steps`, `step_times`;
- smoothness of latent walks for several latent sizes (seed 002): `walk_smoothness`;
- side-by-side loss curves and samples of several runs (BatchNorm, sizes, latent sizes): `plot_runs`;
- D-feature classification with a test subset and under both label protocols (paper 5.1):
  `d_feature_classification`, `feature_protocols`, `plot_feature_protocols`;
- the numbers that tell runs apart: `summarize_runs`, `format_table`, `plot_smoothness`, `plot_step_times`;
- CelebA attribute classifier for vector arithmetic on faces (paper 6.3): `celeba_attribute_classifier`
  (`celeba_attributes` + `train_attribute_classifier`), `attribute_spec`.
"""

import json
import statistics
import sys
import time
from pathlib import Path

import keras
import numpy as np

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

    `utils.train.train` counts epochs: a 100-image subset would need thousands of them (each writing a
    checkpoint and redrawing the GIF) to match the steps of the full set. Here the data is the same endless,
    reshuffled epoch stream that `train` reads, cut into `reports` stretches of equal steps; after each one
    the fixed-noise grid (`samples/epoch_XXXX.png`, XXXX = report), `history.csv` (with "step" and G's sample
    "diversity" columns), `loss.png` and `progress.gif` are written, and at the end the models, as `train` does.

    Args:
        config: as for `utils.train.train` ("data", "model", "training"); "epochs" is ignored.
        out: the run folder (created; an earlier run's grids and GIF there are removed).
        total_steps: training steps (batches); must be a multiple of `reports`.
        reports: how many times the outputs are written.
        verbose: Keras `fit` verbosity (a progress bar in notebooks by default).
        log: where progress messages go.

    Returns:
        (the trained `DCGAN`, {"examples", "steps_per_epoch", "epochs", "steps"}).
    """
    from utils.callbacks import History, SampleGrid
    from utils.data import load_dataset
    from utils.diagnostics import Diagnostics
    from utils.files import check_new_run, check_writable_dir, write_text
    from utils.models import ModelConfig
    from utils.samples import sample_latent
    from utils.saving import save_models
    from utils.train import SAMPLE_GRID_SIZE, build_trainer

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
    from utils.config import ARCHITECTURES, model_config

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
    from utils.models import ModelConfig, trainable_params
    from utils.train import build_trainer

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


def walk_smoothness(generator, discriminator=None, walks=100, steps=10, seed=0, method="linear"):
    """Smoothness of `walks` latent walks: largest step between frames / mean step (1 = even), per walk.

    The same measure as `dcgan.py interpolate`, over many walks, summarised by the median and the worst.

    Args:
        generator: a generator model.
        discriminator: optionally D, to measure in its features before the logit too.
        walks: number of walks between random z pairs.
        steps: frames per walk, endpoints included (>= 3).
        seed: seed of the endpoints.
        method: "linear" or "slerp".

    Returns:
        {"pixel_median", "pixel_worst", "feature_median", "feature_worst" (None without D), "walks", "steps"}.
    """
    from utils.latent import discriminator_features, latent_walks, predict, walk_ratios

    if steps < 3:
        raise UserError(f"walks need at least 3 frames to compare steps, not {steps}")
    z = latent_walks(walks, steps, generator.input_shape[-1], seed, method)
    images = predict(generator, z)
    pixel = walk_ratios(images, walks)
    feature = None
    if discriminator is not None:
        feature = walk_ratios(predict(discriminator_features(discriminator), images), walks)
    return {
        "pixel_median": statistics.median(pixel),
        "pixel_worst": max(pixel),
        "feature_median": statistics.median(feature) if feature else None,
        "feature_worst": max(feature) if feature else None,
        "walks": walks,
        "steps": steps,
    }


def plot_smoothness(results, path, title="Smoothness of latent walks"):
    """Bars of the median walk smoothness (pixels and D features) per model, the worst walk as a black mark.

    Args:
        results: {label: `walk_smoothness` result}.
        path: the PNG to write.
        title: the chart's title.
    """
    from matplotlib.figure import Figure

    from utils.files import atomic_path

    labels = list(results)
    figure = Figure(figsize=(2.0 * len(labels) + 3.0, 4.2))
    axis = figure.subplots()
    spaces = [
        (space, name)
        for space, name in (("pixel", "pixels"), ("feature", "D features"))
        if results[labels[0]][f"{space}_median"] is not None
    ]
    width = 0.8 / len(spaces)
    for index, (space, name) in enumerate(spaces):
        positions = [p + (index - (len(spaces) - 1) / 2) * width for p in range(len(labels))]
        medians = [results[label][f"{space}_median"] for label in labels]
        bars = axis.bar(positions, medians, width, label=f"median walk, {name}")
        axis.bar_label(bars, labels=[f"{value:.2f}" for value in medians], padding=2, fontsize=8)
        worst = [results[label][f"{space}_worst"] for label in labels]
        axis.scatter(
            positions, worst, marker="_", s=300, color="black", zorder=3, label="worst walk" if index == 0 else None
        )
    axis.axhline(1.0, color="grey", linestyle="--", label="perfectly even (1)")
    axis.set_xticks(range(len(labels)), labels)
    walks = results[labels[0]]["walks"]
    axis.set(ylabel="largest / mean step between frames", title=f"{title} ({walks} walks each)")
    axis.legend(fontsize=8)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=100, format="png")


SATURATED = (0.95, 0.05)  # mean D(x) above, mean D(G(z)) below: D wins outright (utils.diagnostics' warning)


def summarize_runs(runs, x="epoch"):
    """The numbers that tell the runs of an experiment apart, from their history.csv.

    Args:
        runs: {label: run folder}.
        x: "epoch" or "step" (the length of the run).

    Returns:
        {label: {x: length, "d_loss", "g_loss", "d_real", "d_fake", "diversity" (last report; None when not
        logged), "g_loss_min", "g_loss_max" (over reports), "saturated" (reports with D(x) > 0.95 and
        D(G(z)) < 0.05)}}.
    """
    from utils.callbacks import read_history

    summary = {}
    for label, run_dir in runs.items():
        rows = read_history(Path(run_dir) / "history.csv")
        if not rows:
            raise FileNotFoundError(f"no history.csv rows in {run_dir}")
        last = rows[-1]
        summary[label] = {
            x: last.get(x, last["epoch"]),
            **{key: last.get(key) for key in ("d_loss", "g_loss", "d_real", "d_fake", "diversity")},
            "g_loss_min": min(row["g_loss"] for row in rows),
            "g_loss_max": max(row["g_loss"] for row in rows),
            "saturated": sum(row["d_real"] > SATURATED[0] and row["d_fake"] < SATURATED[1] for row in rows),
        }
    return summary


def format_table(rows, columns=None):
    """A plain-text table of {label: {column: value}}: floats with 4 significant digits, None as "-".

    Returns:
        The table as one string (print it).
    """
    columns = columns or list(dict.fromkeys(key for row in rows.values() for key in row))

    def text(value):
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:.4g}"
        return str(value)

    cells = [["", *columns]] + [[label, *(text(row.get(column)) for column in columns)] for label, row in rows.items()]
    widths = [max(len(line[index]) for line in cells) for index in range(len(cells[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in cells
    )


def _last_grid(run_dir):
    grids = sorted(Path(run_dir).glob("samples/epoch_*.png"))
    if not grids:
        raise FileNotFoundError(f"no samples/epoch_*.png in {run_dir}")
    return grids[-1]


def plot_runs(runs, path, title, x="epoch"):
    """Several runs side by side: each column a run's D and G loss curves above its last sample grid.

    Args:
        runs: {label: run folder} (folders of `utils.train.train` or `train_for_steps`).
        path: the PNG to write.
        title: the figure's title.
        x: the history column on the horizontal axis ("epoch", or "step" for `train_for_steps` runs).
    """
    from matplotlib.figure import Figure
    from PIL import Image

    from utils.callbacks import read_history
    from utils.files import atomic_path

    figure = Figure(figsize=(3.6 * len(runs), 7.2))
    axes = figure.subplots(2, len(runs), squeeze=False)
    top = 0.0
    for column, (label, run_dir) in enumerate(runs.items()):
        rows = read_history(Path(run_dir) / "history.csv")
        if not rows:
            raise FileNotFoundError(f"no history.csv rows in {run_dir}")
        curves = axes[0, column]
        for key, name in (("d_loss", "D loss"), ("g_loss", "G loss")):
            values = [row.get(key) for row in rows]
            curves.plot([row.get(x, row["epoch"]) for row in rows], values, marker=".", label=name)
            top = max(top, *(value for value in values if value is not None))
        curves.set(title=label, xlabel=x)
        curves.grid(alpha=0.3)
        curves.legend(fontsize=8)
        with Image.open(_last_grid(run_dir)) as grid:
            axes[1, column].imshow(grid.convert("RGB"))
        axes[1, column].set_title(f"samples after {rows[-1].get(x, rows[-1]['epoch']):g} {x}s", fontsize=9)
        axes[1, column].axis("off")
    for column in range(len(runs)):
        axes[0, column].set_ylim(0, top * 1.05)
    axes[0, 0].set_ylabel("binary cross-entropy")
    figure.suptitle(title)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=100, format="png")


def d_feature_classification(
    discriminator,
    name,
    data_dir=None,
    train_subset=None,
    test_subset=None,
    labels_per_class=None,
    draws=None,
    seed=0,
    out=None,
    log=print,
):
    """Paper section 5.1 as `dcgan.py features` does it, with a seeded test subset for quick (smoke) runs.

    D's conv layers max-pooled to 4x4 and concatenated, raw pixels and the same D with random weights, each
    scored by the linear L2-SVM with C chosen on a validation split of the training set.

    Args:
        discriminator: a loaded discriminator, or the path of a saved one.
        name: a labelled dataset (mnist, fashion_mnist, cifar10, svhn_cropped).
        data_dir: IDX folder or tensorflow-datasets data_dir.
        train_subset, test_subset: use only this many examples of each split (all when None).
        labels_per_class: labelled training examples per class per draw (paper's SVHN: 100); all when None.
        draws: label draws averaged (default 5 with `labels_per_class`, else 1).
        seed: seed of subsets, splits, draws and the random D.
        out: optional PNG bar chart of the accuracies.
        log: progress lines.

    Returns:
        The JSON object `dcgan.py features` prints: "d_features", "raw_pixels", "random_d" (mean test
        accuracies), "std", "accuracies", "c", "feature_dims", "examples", "protocol", "draws", "seconds".
    """
    from utils.commands.features import evaluate, feature_sets, plot_accuracies, record
    from utils.datasets import dataset_spec
    from utils.features import load_arrays
    from utils.saving import load_discriminator

    started = time.perf_counter()
    name, spec = dataset_spec(name)
    if not spec.labels:
        raise UserError(f"dataset {name!r} has no class labels; D-feature classification needs a labelled dataset")
    if isinstance(discriminator, (str, Path)):
        discriminator = load_discriminator(discriminator)
    draws = draws or (5 if labels_per_class else 1)
    train_x, train_y = load_arrays(name, data_dir, "train", train_subset, seed)
    test_x, test_y = load_arrays(name, data_dir, "test")
    if test_subset is not None and test_subset < len(test_y):
        keep = np.sort(np.random.default_rng(seed).choice(len(test_y), test_subset, replace=False))
        test_x, test_y = test_x[keep], test_y[keep]
    sets = feature_sets(discriminator, train_x, test_x, seed)
    results, sizes = evaluate(sets, train_y, test_y, labels_per_class, draws, seed, log=log)
    protocol = f"{labels_per_class} labels per class" if labels_per_class else "all labels"
    if out is not None:
        title = f"{name}, {protocol}" + (f" ({draws} draws)" if draws > 1 else "")
        plot_accuracies(results, 1.0 / len(set(test_y.tolist())), title, out)
    for key, result in results.items():
        spread = f" +- {result['std']:.4f}" if result["std"] is not None else ""
        log(f"{protocol}: {key}: {result['mean']:.4f}{spread}")
    return record(results, sets, sizes, protocol, labels_per_class, draws, time.perf_counter() - started)


def feature_protocols(discriminator, name, per_class=100, draws=5, seed=0, log=print, **subsets):
    """`d_feature_classification` under the paper's two label protocols: all labels, and `per_class` per class.

    Args:
        discriminator: a loaded discriminator or the path of a saved one.
        name: a labelled dataset.
        per_class: labelled examples per class of the second protocol (100: the paper's 1,000 SVHN labels).
        draws: label draws averaged in the second protocol.
        seed: as for `d_feature_classification`.
        log: progress lines.
        **subsets: `train_subset`, `test_subset` and `data_dir` for `d_feature_classification`.

    Returns:
        {"all labels": result, "<per_class> per class": result}.
    """
    if isinstance(discriminator, (str, Path)):
        from utils.saving import load_discriminator

        discriminator = load_discriminator(discriminator)
    return {
        protocol: d_feature_classification(
            discriminator, name, labels_per_class=labels, draws=count, seed=seed, log=log, **subsets
        )
        for protocol, labels, count in (("all labels", None, 1), (f"{per_class} per class", per_class, draws))
    }


def plot_feature_protocols(results, path, chance=0.1, title="D features vs baselines"):
    """Grouped bars: for each label protocol, the test accuracy of each feature set (`dcgan.py features` JSON).

    Args:
        results: {protocol label: JSON result of `dcgan.py features`} (keys d_features, raw_pixels,
            random_d with the mean accuracies, and "std" with their spread over draws).
        path: the PNG to write.
        chance: the accuracy of guessing (dashed line).
        title: the chart's title.
    """
    from matplotlib.figure import Figure

    from utils.commands.features import TITLES
    from utils.files import atomic_path

    protocols = list(results)
    width = 0.8 / len(TITLES)
    figure = Figure(figsize=(3.0 + 2.4 * len(protocols), 4.2))
    axis = figure.subplots()
    for index, (key, name) in enumerate(TITLES.items()):
        means = [results[protocol][key] for protocol in protocols]
        errors = [(results[protocol].get("std") or {}).get(key) or 0.0 for protocol in protocols]
        positions = [p + (index - (len(TITLES) - 1) / 2) * width for p in range(len(protocols))]
        bars = axis.bar(positions, means, width, yerr=errors, capsize=4, label=name)
        axis.bar_label(bars, labels=[f"{mean:.3f}" for mean in means], padding=2, fontsize=8)
    axis.axhline(chance, color="grey", linestyle="--", label=f"chance ({chance:.2f})")
    axis.set_xticks(range(len(protocols)), protocols)
    axis.set(ylim=(0, 1.1), ylabel="test accuracy", title=title)
    axis.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=100, format="png")


def celeba_attributes(n, image_size=64, split="train", data_dir=None):
    """The first `n` CelebA images of `split`, prepared as for training, with their 40 binary attributes.

    Args:
        n: how many examples (the first ones of the split, in file order).
        image_size: side of the images (central 108-pixel crop, then resize, as in training).
        split: tensorflow-datasets split of celeb_a.
        data_dir: tensorflow-datasets data_dir.

    Returns:
        (images (n, S, S, 3) float32 in [-1, 1], attributes (n, 40) int64 0/1, attribute names in column
        order, which is alphabetical: Eyeglasses 15, Male 20, Smiling 31).
    """
    import tensorflow_datasets as tfds

    from utils.data import load_dataset

    part = f"{split}[:{n}]"
    settings = {"data_dir": data_dir, "split": part, "shuffle": False, "drop_remainder": False}
    data = load_dataset("celeb_a", image_size, 3, batch_size=min(n, 256), **settings)
    images = np.concatenate([np.asarray(batch) for batch in data.dataset]).astype(np.float32)
    dataset = tfds.load("celeb_a", split=part, data_dir=data_dir, shuffle_files=False)
    names = sorted(dataset.element_spec["attributes"])
    rows = [
        [int(example["attributes"][name]) for name in names]
        for example in tfds.as_numpy(dataset.map(lambda ex: {"attributes": ex["attributes"]}))
    ]
    images, attributes = images[:n], np.asarray(rows[:n], np.int64)  # tfds' mock data ignores the split's slice
    if len(attributes) != len(images):
        raise UserError(f"celeb_a {part}: {len(images)} images but {len(attributes)} attribute rows")
    return images, attributes, names


BATCHNORM_MOMENTUM = 0.9  # of the attribute classifier while it trains (Keras' default 0.99 lags for short runs)


def train_attribute_classifier(images, attributes, epochs=3, batch_size=128, seed=0, verbose=2):
    """Train a multi-label classifier (one sigmoid logit per attribute) on images in [-1, 1] (Adam, 1e-3 to 0).

    The network is `utils.classifier.build_classifier` with one output per attribute and binary
    cross-entropy; `dcgan.py arithmetic --classifier FILE --a-class 31=1,20=0 ...` reads its logits.

    Args:
        images: (N, S, S, C) float32 in [-1, 1].
        attributes: (N, K) 0/1 labels.
        epochs, batch_size, seed, verbose: training settings.

    Returns:
        The trained `keras.Sequential`, without optimizer state.
    """
    from utils.classifier import build_classifier

    attributes = np.asarray(attributes, np.float32)
    if attributes.ndim != 2 or len(attributes) != len(images):
        raise UserError(f"attributes must be (N, K) for {len(images)} images, not {attributes.shape}")
    keras.utils.set_random_seed(seed)
    model = build_classifier(images.shape[1:], attributes.shape[1])
    for layer in model.layers:  # BatchNorm's inference statistics follow within ~50 steps instead of ~500
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = BATCHNORM_MOMENTUM
    steps = epochs * -(-len(images) // batch_size)
    model.compile(  # the learning rate decays to 0, as in `utils.classifier`
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(1e-3, steps)),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[keras.metrics.BinaryAccuracy(threshold=0.0, name="accuracy")],
    )
    model.fit(images, attributes, batch_size=batch_size, epochs=epochs, shuffle=True, verbose=verbose)
    trained = build_classifier(images.shape[1:], attributes.shape[1])
    trained.set_weights(model.get_weights())
    return trained


def attribute_accuracy(classifier, images, attributes, batch_size=500):
    """Per-attribute accuracy of a multi-label classifier (logit > 0 means present); (K,) float64 array."""
    logits = classifier.predict(images, batch_size=batch_size, verbose=0)
    return ((logits > 0) == (np.asarray(attributes) > 0)).mean(axis=0)


def celeba_attribute_classifier(n, image_size=64, epochs=5, validation=2000, data_dir=None, seed=0, log=print):
    """Train the CelebA attribute classifier on the first `n` training faces and check it on validation faces.

    Args:
        n: training faces.
        image_size: side of the faces (the generator's).
        epochs: passes over the `n` faces.
        validation: faces of the validation split it is scored on.
        data_dir: tensorflow-datasets data_dir.
        seed: seed of the weights and the shuffling.
        log: gets one line with the accuracies.

    Returns:
        (the classifier, attribute names in output order, {attribute: validation accuracy} with "mean" over all 40).
    """
    faces, attributes, names = celeba_attributes(n, image_size, "train", data_dir)
    classifier = train_attribute_classifier(faces, attributes, epochs=epochs, seed=seed)
    held_faces, held_attributes, _ = celeba_attributes(validation, image_size, "validation", data_dir)
    scores = attribute_accuracy(classifier, held_faces, held_attributes)
    accuracy = {name: float(score) for name, score in zip(names, scores, strict=True)}
    accuracy["mean"] = float(scores.mean())
    log(
        f"attribute classifier, {len(held_faces)} validation faces: Smiling {accuracy['Smiling']:.3f}, "
        f"Male {accuracy['Male']:.3f}, Eyeglasses {accuracy['Eyeglasses']:.3f}, mean of 40 {accuracy['mean']:.3f}"
    )
    return classifier, names, accuracy


def attribute_spec(names, wanted):
    """The `--a-class` text of `dcgan.py arithmetic` for attributes by name: {"Smiling": 1, "Male": 0} -> "31=1,20=0".

    Raises:
        UserError: an unknown attribute name or a value other than 0 and 1.
    """
    parts = []
    for name, value in wanted.items():
        if name not in names:
            raise UserError(f"unknown attribute {name!r}; known: {', '.join(names)}")
        if value not in (0, 1):
            raise UserError(f"attribute {name} must be wanted 0 or 1, not {value!r}")
        parts.append(f"{list(names).index(name)}={value}")
    return ",".join(parts)
