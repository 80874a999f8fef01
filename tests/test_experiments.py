"""The experiment notebooks' functions: equal-step training, step timing, walk smoothness, run summaries, figures."""

import csv
import math

import keras
import numpy as np
import pytest
from PIL import Image

from utils import experiments
from utils.config import ModelConfig
from utils.errors import UserError
from utils.images import save_grid
from utils.models import build_discriminator, build_generator, trainable_params
from utils.notebook import smoke_data, training_config


def _png(path):
    with Image.open(path) as image:
        image.load()
        return image.size


@pytest.mark.parametrize(
    ("examples", "batch", "steps", "per_epoch", "epochs"),
    [(100, 100, 6000, 1, 6000.0), (1000, 100, 6000, 10, 600.0), (60_000, 100, 6000, 600, 10.0), (64, 16, 8, 4, 2.0)],
)
def test_epochs_for_steps_keeps_the_steps_and_scales_the_epochs(examples, batch, steps, per_epoch, epochs):
    plan = experiments.epochs_for_steps(examples, batch, steps)
    assert plan == {"examples": examples, "steps_per_epoch": per_epoch, "epochs": epochs, "steps": steps}


def test_epochs_for_steps_drops_the_incomplete_batch_and_refuses_impossible_plans():
    assert experiments.epochs_for_steps(150, 100, 10)["epochs"] == 10.0  # one full batch per epoch
    with pytest.raises(UserError, match="larger than the 50"):
        experiments.epochs_for_steps(50, 100, 10)
    with pytest.raises(UserError, match="positive"):
        experiments.epochs_for_steps(100, 10, 0)


def test_train_for_steps_trains_exactly_the_steps_whatever_the_subset(tmp_path):
    with smoke_data(True, num_examples=64):
        config = training_config("mnist", 1, 8, subset=16, seed=1, smoke=True, g_width=4, d_width=4, latent_dim=8)
        config["training"]["batch_size"] = 8
        gan, plan = experiments.train_for_steps(config, tmp_path / "run", total_steps=6, reports=3, verbose=0)
    assert plan == {"examples": 16, "steps_per_epoch": 2, "epochs": 3.0, "steps": 6}
    assert int(keras.ops.convert_to_numpy(gan.d_optimizer.iterations)) == 6
    assert int(keras.ops.convert_to_numpy(gan.g_optimizer.iterations)) == 6
    with open(tmp_path / "run" / "history.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [float(row["step"]) for row in rows] == [2.0, 4.0, 6.0]
    assert all(float(row["diversity"]) >= 0 for row in rows)
    assert sorted(path.name for path in (tmp_path / "run" / "samples").iterdir()) == [
        f"epoch_{index:04d}.png" for index in (1, 2, 3)
    ]
    for name in ("generator.h5", "generator.keras", "discriminator.h5", "discriminator.keras", "loss.png"):
        assert (tmp_path / "run" / name).stat().st_size > 0
    with smoke_data(True, num_examples=64):  # again, with fewer reports: the first run's third grid goes
        experiments.train_for_steps(config, tmp_path / "run", total_steps=4, reports=2, verbose=0)
    assert sorted(path.name for path in (tmp_path / "run" / "samples").iterdir()) == [
        "epoch_0001.png",
        "epoch_0002.png",
    ]
    timed = experiments.time_train_steps(gan, batch_size=8, steps=2, warmup=1)
    assert timed["optimizer_steps"] == 6 + 1 + 2  # the trained DCGAN goes on from its 6 steps
    assert timed["generator_params"] == trainable_params(gan.generator)
    with pytest.raises(UserError, match="multiple"):
        experiments.train_for_steps(config, tmp_path / "bad", total_steps=7, reports=3)


def test_time_train_steps_runs_warmup_plus_timed_steps_and_keeps_the_fastest():
    model = ModelConfig(image_size=28, channels=1, latent_dim=8, g_width=4, d_width=4, kernel_size=3)
    result = experiments.time_train_steps(model, batch_size=4, steps=2, warmup=1, repeats=2)
    assert result["optimizer_steps"] == 1 + 2 * 2
    assert len(result["runs"]) == 2 and result["seconds_per_step"] == min(result["runs"]) > 0
    assert result["images_per_second"] == pytest.approx(4 / result["seconds_per_step"])
    assert result["generator_params"] == trainable_params(build_generator(model))
    assert result["discriminator_params"] == trainable_params(build_discriminator(model))
    with pytest.raises(UserError):
        experiments.time_train_steps(model, batch_size=4, steps=0)


def test_step_times_are_relative_to_the_baseline(tmp_path):
    small = ModelConfig(image_size=28, channels=1, latent_dim=8, g_width=4, d_width=4, kernel_size=3)
    models = {"small": small, "same": small}
    lines = []
    results = experiments.step_times(models, "small", batch_size=4, steps=1, warmup=1, log=lines.append)
    assert results["small"]["ratio"] == 1.0
    assert results["same"]["ratio"] == results["same"]["seconds_per_step"] / results["small"]["seconds_per_step"]
    assert len(lines) == 2 and "ms per step of 4" in lines[0]
    experiments.plot_step_times(results, "small", tmp_path / "t.png", reported={"same": 5.0}, title="t")
    assert _png(tmp_path / "t.png")[0] > 100
    with pytest.raises(UserError, match="baseline"):
        experiments.step_times(models, "missing", batch_size=4, steps=1)


def test_resolution_models_are_seed_002s_and_scale_down_in_proportion():
    full = experiments.resolution_models()
    assert list(full) == [experiments.RESOLUTION_BASELINE, "128x128 seed002-doubled", "128x128 seed002-extra-layer"]
    assert [(m.image_size, m.g_width, m.d_width, m.channels) for m in full.values()] == [
        (64, 128, 128, 3),
        (128, 128, 128, 3),
        (128, 64, 64, 3),
    ]
    small = experiments.resolution_models(channels=1, width_divisor=16)
    assert [(m.image_size, m.g_width, m.d_width, m.channels) for m in small.values()] == [
        (64, 8, 8, 1),
        (128, 8, 8, 1),
        (128, 4, 4, 1),
    ]
    # README's counts at full width: 18,855,043 (64x64) and 19,055,171 (extra layer); the doubled G is not built here.
    assert trainable_params(build_generator(full[experiments.RESOLUTION_BASELINE])) == 18_855_043
    assert trainable_params(build_generator(full["128x128 seed002-extra-layer"])) == 19_055_171


def _linear_models(latent=6, steep=False):
    """A generator linear in z (walks between z are perfectly even) or a steep one (a walk jumps), and a D."""
    layers = [
        keras.Input((latent,)),
        keras.layers.Dense(16, kernel_initializer=keras.initializers.RandomNormal(seed=1)),
    ]
    if steep:
        layers += [keras.layers.Rescaling(200.0), keras.layers.Activation("tanh")]
    generator = keras.Sequential([*layers, keras.layers.Reshape((4, 4, 1))])
    discriminator = keras.Sequential(
        [keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(5), keras.layers.Dense(1)]
    )
    return generator, discriminator


def test_walk_smoothness_is_one_for_a_linear_generator_and_large_for_a_jump():
    generator, discriminator = _linear_models()
    even = experiments.walk_smoothness(generator, discriminator, walks=5, steps=9, seed=2)
    assert even["pixel_median"] == pytest.approx(1.0, abs=1e-3)
    assert even["feature_worst"] == pytest.approx(1.0, abs=1e-3)
    assert (even["walks"], even["steps"]) == (5, 9)
    steep = experiments.walk_smoothness(_linear_models(steep=True)[0], walks=5, steps=9, seed=2)
    assert steep["pixel_worst"] > 2.0 and steep["feature_median"] is None
    with pytest.raises(UserError, match="3 frames"):
        experiments.walk_smoothness(generator, steps=2)


def _history_run(folder, rows, x="epoch"):
    folder.mkdir(parents=True)
    with open(folder / "history.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    save_grid(np.zeros((4, 8, 8, 1)), folder / "samples" / "epoch_0001.png")
    return folder


def _row(epoch, d_real, d_fake, g_loss, **extra):
    return {"epoch": epoch, "d_loss": 1.0, "g_loss": g_loss, "d_real": d_real, "d_fake": d_fake, **extra}


def test_summarize_runs_counts_saturated_reports_and_the_g_loss_range(tmp_path):
    runs = {
        "saturating": _history_run(
            tmp_path / "a", [_row(1, 0.6, 0.4, 0.9), _row(2, 0.97, 0.02, 4.0), _row(3, 0.99, 0.01, 6.5)]
        ),
        "balanced": _history_run(tmp_path / "b", [_row(1, 0.6, 0.4, 0.7, diversity=0.3, step=50.0)]),
    }
    summary = experiments.summarize_runs(runs)
    assert summary["saturating"]["saturated"] == 2 and summary["balanced"]["saturated"] == 0
    assert (summary["saturating"]["g_loss_min"], summary["saturating"]["g_loss_max"]) == (0.9, 6.5)
    assert summary["saturating"]["epoch"] == 3 and summary["saturating"]["diversity"] is None
    assert experiments.summarize_runs(runs, x="step")["balanced"]["step"] == 50.0
    table = experiments.format_table(summary, ["epoch", "g_loss", "diversity"]).splitlines()
    assert table[0].split() == ["epoch", "g_loss", "diversity"]
    assert table[1].split() == ["saturating", "3", "6.5", "-"]
    with pytest.raises(FileNotFoundError):
        experiments.summarize_runs({"empty": tmp_path})


def test_plot_runs_puts_every_run_in_a_column(tmp_path):
    one = _history_run(tmp_path / "one", [_row(1, 0.6, 0.4, 0.9, step=10.0), _row(2, 0.7, 0.3, 1.1, step=20.0)])
    two = _history_run(tmp_path / "two", [_row(1, 0.5, 0.5, 0.8, step=10.0)])
    experiments.plot_runs({"one": one}, tmp_path / "1.png", "one run", x="step")
    experiments.plot_runs({"one": one, "two": two}, tmp_path / "2.png", "two runs", x="step")
    assert _png(tmp_path / "2.png")[0] > 1.5 * _png(tmp_path / "1.png")[0]


def _features_result(d, raw, random_d, std=None):
    return {"d_features": d, "raw_pixels": raw, "random_d": random_d, "std": std or {}}


def test_plot_feature_protocols_and_smoothness_write_charts(tmp_path):
    results = {
        "all labels": _features_result(0.89, 0.84, 0.88),
        "100 per class": _features_result(
            0.83, 0.80, 0.82, {"d_features": 0.004, "raw_pixels": 0.004, "random_d": 0.005}
        ),
    }
    experiments.plot_feature_protocols(results, tmp_path / "f.png")
    smooth = {
        f"z = {z}": {"pixel_median": 1.2, "pixel_worst": 2.0, "feature_median": 1.1, "feature_worst": 1.5, "walks": 10}
        for z in (20, 100)
    }
    experiments.plot_smoothness(smooth, tmp_path / "s.png")
    assert min(_png(tmp_path / "f.png")) > 100 and min(_png(tmp_path / "s.png")) > 100


def test_d_feature_classification_scores_three_feature_sets_on_a_test_subset(tmp_path):
    discriminator = build_discriminator(ModelConfig(image_size=28, channels=1, d_width=4, kernel_size=3))
    lines = []
    with smoke_data(True, num_examples=120):
        result = experiments.d_feature_classification(
            discriminator, "mnist", test_subset=50, seed=3, out=tmp_path / "f.png", log=lines.append
        )
        protocols = experiments.feature_protocols(
            discriminator, "mnist", per_class=2, draws=2, test_subset=40, log=lines.append
        )
    assert result["examples"]["test"] == 50 and result["examples"]["train"] + result["examples"]["validation"] == 120
    for key in ("d_features", "raw_pixels", "random_d"):
        assert 0.0 <= result[key] <= 1.0 and len(result["accuracies"][key]) == 1
    assert result["feature_dims"] == {"d_features": 16 * 4 + 16 * 8, "raw_pixels": 784, "random_d": 16 * 4 + 16 * 8}
    assert result["protocol"] == "all labels" and _png(tmp_path / "f.png")[0] > 100
    assert list(protocols) == ["all labels", "2 per class"]
    assert (
        protocols["2 per class"]["examples"]["train"] == 20
        and len(protocols["2 per class"]["accuracies"]["d_features"]) == 2
    )
    assert any("random_d" in line for line in lines)
    with pytest.raises(UserError, match="no class labels"):
        experiments.d_feature_classification(discriminator, "celeb_a")


def test_attribute_classifier_learns_attributes_of_the_pixels():
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (256, 16, 16, 1)).astype(np.float32)
    images[:128, :, :8] += 0.8  # attribute 0: the left half is brighter
    images = np.clip(images, -1, 1)
    brightness = images.mean(axis=(1, 2, 3))
    attributes = np.stack([np.arange(256) < 128, brightness > np.median(brightness)], axis=1).astype(int)
    classifier = experiments.train_attribute_classifier(images, attributes, epochs=12, batch_size=16, verbose=0)
    assert classifier.output_shape == (None, 2) and getattr(classifier, "optimizer", None) is None
    accuracy = experiments.attribute_accuracy(classifier, images, attributes)
    assert accuracy[0] > 0.9 and accuracy[1] > 0.75
    with pytest.raises(UserError):
        experiments.train_attribute_classifier(images, attributes[:10])


def test_attribute_spec_names_outputs_by_position():
    names = ["Eyeglasses", "Male", "Smiling"]
    assert experiments.attribute_spec(names, {"Smiling": 1, "Male": 0}) == "2=1,1=0"
    with pytest.raises(UserError, match="unknown attribute"):
        experiments.attribute_spec(names, {"Beard": 1})
    with pytest.raises(UserError, match="0 or 1"):
        experiments.attribute_spec(names, {"Male": 2})


def test_celeba_attributes_come_with_their_images_in_alphabetical_columns():
    with smoke_data(True, num_examples=10):
        images, attributes, names = experiments.celeba_attributes(6, image_size=32)
    assert images.shape == (6, 32, 32, 3) and images.min() >= -1.0 and images.max() <= 1.0
    assert attributes.shape == (6, 40) and set(np.unique(attributes)) <= {0, 1}
    assert names == sorted(names) and (names.index("Eyeglasses"), names.index("Male"), names.index("Smiling")) == (
        15,
        20,
        31,
    )
    assert not math.isnan(images.mean())


def test_celeba_attribute_classifier_reports_validation_accuracy_per_attribute():
    lines = []
    with smoke_data(True, num_examples=16):
        classifier, names, accuracy = experiments.celeba_attribute_classifier(
            16, image_size=32, epochs=1, validation=8, log=lines.append
        )
    assert classifier.input_shape == (None, 32, 32, 3) and classifier.output_shape == (None, 40)
    assert set(accuracy) == {*names, "mean"} and all(0.0 <= value <= 1.0 for value in accuracy.values())
    assert accuracy["mean"] == pytest.approx(np.mean([accuracy[name] for name in names]))
    assert len(lines) == 1 and lines[0].startswith("attribute classifier, 8 validation faces: Smiling")
