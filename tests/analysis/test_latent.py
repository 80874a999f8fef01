"""Latent walks: interpolation, walk grids, the smoothness ratio, D features, `predict`, and `dcgan.py interpolate`."""

import itertools
import json
import logging

import keras
import numpy as np
import pytest
from conftest import last_line, run_cli
from PIL import Image

from utils.analysis.latent import (
    METHODS,
    discriminator_features,
    interpolate,
    interpolate_points,
    latent_walks,
    lerp,
    predict,
    predict_function,
    slerp,
    step_distances,
    transition_ratio,
    walk_ratios,
)
from utils.analysis.latent_plots import draw_walks
from utils.cli import interpolate as command
from utils.cli import main
from utils.errors import UserError
from utils.training.config import ModelConfig
from utils.training.models import build_discriminator, build_generator
from utils.training.samples import sample_latent
from utils.training.saving import save_model


def angle(a, b):
    return np.arccos(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_lerp_hits_both_ends_in_equal_steps():
    z0, z1 = sample_latent(2, 8, seed=1)
    path = lerp(z0, z1, 6)
    assert path.shape == (6, 8) and path.dtype == np.float32
    np.testing.assert_allclose(path[[0, -1]], [z0, z1], atol=1e-6)
    np.testing.assert_allclose(step_distances(path), np.linalg.norm(z1 - z0) / 5, rtol=1e-5)
    assert transition_ratio(path) == pytest.approx(1.0, abs=1e-5)


def test_slerp_walks_the_great_circle():
    z0, z1 = sample_latent(2, 16, seed=2)
    z1 = z1 / np.linalg.norm(z1) * np.linalg.norm(z0)  # same norm: the arc stays on one sphere
    path = slerp(z0, z1, 7)
    np.testing.assert_allclose(path[[0, -1]], [z0, z1], atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), np.linalg.norm(z0), rtol=1e-5)
    angles = [angle(a, b) for a, b in itertools.pairwise(path)]
    np.testing.assert_allclose(angles, angle(z0, z1) / 6, rtol=1e-3)
    assert np.linalg.norm(path[3]) > np.linalg.norm(lerp(z0, z1, 7)[3]) * 1.05  # lerp cuts through the sphere


@pytest.mark.parametrize("factor", [2.0, -1.0])
def test_slerp_of_parallel_or_opposite_ends_is_the_line(factor):
    z0 = sample_latent(1, 8, seed=3)[0]
    path = slerp(z0, factor * z0, 5)
    assert np.all(np.isfinite(path))
    np.testing.assert_allclose(path, lerp(z0, factor * z0, 5), atol=1e-6)


def test_interpolate_points_picks_the_method_and_rejects_others():
    z0, z1 = sample_latent(2, 8, seed=4)
    np.testing.assert_array_equal(interpolate_points(z0, z1, 5, "linear"), lerp(z0, z1, 5))
    np.testing.assert_array_equal(interpolate_points(z0, z1, 5, "slerp"), slerp(z0, z1, 5))
    with pytest.raises(UserError, match="unknown interpolation method"):
        interpolate_points(z0, z1, 5, "cubic")
    assert command.METHODS == METHODS  # the command's choices (kept light for --help) match the library


@pytest.mark.parametrize("method", METHODS)
def test_latent_walks_rows_run_between_seeded_endpoints(method):
    z = latent_walks(3, 5, 8, seed=7, method=method)
    ends = sample_latent(6, 8, seed=7)
    assert z.shape == (15, 8)
    rows = z.reshape(3, 5, 8)
    np.testing.assert_allclose(rows[:, 0], ends[0::2], atol=1e-5)
    np.testing.assert_allclose(rows[:, -1], ends[1::2], atol=1e-5)
    np.testing.assert_array_equal(z, latent_walks(3, 5, 8, seed=7, method=method))
    assert not np.allclose(z, latent_walks(3, 5, 8, seed=8, method=method))


def test_transition_ratio_is_max_over_mean_step():
    frames = np.array([0.0, 1.0, 2.0, 4.0])[:, None, None]  # steps 1, 1, 2
    assert transition_ratio(frames) == pytest.approx(2.0 / (4.0 / 3.0))
    jump = np.array([0.0, 0.0, 0.0, 0.0, 5.0, 5.0])  # all change in one of 5 steps: the worst case, steps - 1
    assert transition_ratio(jump) == pytest.approx(5.0)
    assert np.isnan(transition_ratio(np.ones((4, 3, 3, 1))))


def test_walk_ratios_scores_each_row_separately():
    smooth = np.linspace(0, 1, 5)[:, None] * np.ones((5, 6))
    sharp = np.array([0, 0, 0, 1, 1])[:, None] * np.ones((5, 6))
    ratios = walk_ratios(np.concatenate([smooth, sharp, smooth]), rows=3)
    np.testing.assert_allclose(ratios, [1.0, 4.0, 1.0])


@pytest.mark.parametrize("d_output", ["dense", "conv"])
def test_discriminator_features_are_the_input_of_the_logit(tiny_model, d_output):
    tiny_model.d_output = d_output
    discriminator = build_discriminator(tiny_model)
    images = np.random.default_rng(0).uniform(-1, 1, (4, 28, 28, 1)).astype(np.float32)
    features = np.asarray(discriminator_features(discriminator)(images, training=False))
    if d_output == "dense":  # flatten -> logit: the features are the flatten output
        expected = keras.Model(discriminator.inputs[0], discriminator.get_layer("flatten").output)(images)
        np.testing.assert_allclose(features, np.asarray(expected), atol=1e-6)
        kernel, bias = discriminator.get_layer("logit").get_weights()
        np.testing.assert_allclose(features @ kernel + bias, np.asarray(discriminator(images)), atol=1e-4)
    else:  # the logit is a convolution over the last LeakyReLU map, flattened afterwards
        assert features.shape == (4, 7, 7, 16)
        expected = keras.Model(discriminator.inputs[0], discriminator.get_layer("conv2_lrelu").output)(images)
        np.testing.assert_allclose(features, np.asarray(expected), atol=1e-6)


def test_draw_walks_writes_a_png(tmp_path):
    images = np.linspace(-1, 1, 2 * 4 * 28 * 28).reshape(8, 28, 28, 1)
    draw_walks(images, 2, ["row one", "row two"], "two walks", tmp_path / "walks.png")
    with Image.open(tmp_path / "walks.png") as picture:
        width, height = picture.size
    assert width > height > 100


class Traces(keras.layers.Layer):
    """The identity, counting how often TensorFlow traces (or Keras builds) a model around it."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.count = 0

    def call(self, inputs):
        self.count += 1
        return inputs


@pytest.fixture
def tensorflow_warnings():
    """The warnings TensorFlow logs (e.g. "triggered tf.function retracing") while the test runs."""
    records = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append
    logger = logging.getLogger("tensorflow")  # tf.get_logger(), where tf.function logs its retracing warning
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def test_predict_traces_each_model_once_for_every_batch_size(tensorflow_warnings):
    sizes = (64, 9, 3, 300, 1)  # 300: two batches of at most 256
    for _ in range(4):  # a fresh model each time, as when a notebook cell loads the models again
        traces = Traces()
        model = keras.Sequential([keras.Input((3,)), traces, keras.layers.Dense(2)])
        built = traces.count
        inputs = [np.random.default_rng(size).normal(size=(size, 3)).astype(np.float32) for size in sizes]
        outputs = [predict(model, batch) for batch in inputs]
        assert traces.count == built + 1, "predict traced the model more than once"
        assert predict_function(model, (3,)) is predict_function(model, [3])
        for batch, output in zip(inputs, outputs, strict=True):
            assert output.dtype == np.float32 and output.shape == (len(batch), 2)
            np.testing.assert_allclose(output, np.asarray(model(batch, training=False)), atol=1e-6)
    assert not [record.getMessage() for record in tensorflow_warnings if "retracing" in record.getMessage()]


def test_interpolate_returns_the_smoothness_and_draws_only_with_out(tiny_model, tmp_path):
    keras.utils.set_random_seed(0)
    generator, discriminator = build_generator(tiny_model), build_discriminator(tiny_model)

    report = interpolate(generator, discriminator, rows=3, steps=5, method="slerp", seed=2)

    images = np.asarray(generator(latent_walks(3, 5, 8, seed=2, method="slerp"), training=False))
    features = np.asarray(discriminator_features(discriminator)(images, training=False))
    np.testing.assert_allclose(report["pixel_smoothness_per_row"], walk_ratios(images, 3), rtol=1e-4)
    np.testing.assert_allclose(report["feature_smoothness_per_row"], walk_ratios(features, 3), rtol=1e-4)
    assert report["pixel_smoothness"] == max(report["pixel_smoothness_per_row"])
    assert report["feature_smoothness"] == max(report["feature_smoothness_per_row"])
    assert (report["method"], report["rows"], report["steps"], report["seed"], report["out"]) == (
        "slerp",
        3,
        5,
        2,
        None,
    )
    assert list(tmp_path.iterdir()) == []
    pixels_only = interpolate(generator, rows=3, steps=5, method="slerp", seed=2, out=tmp_path / "walks.png")
    assert pixels_only["out"] == str(tmp_path / "walks.png") and pixels_only["feature_smoothness"] is None
    assert pixels_only["feature_smoothness_per_row"] is None
    assert pixels_only["pixel_smoothness_per_row"] == report["pixel_smoothness_per_row"]
    assert (tmp_path / "walks.png").read_bytes().startswith(b"\x89PNG")


def test_interpolate_rejects_bad_arguments(tiny_model):
    generator = build_generator(tiny_model)
    other = build_discriminator(ModelConfig(image_size=32, channels=3, latent_dim=8, d_width=8, kernel_size=3))
    for kwargs, message in [
        ({"steps": 2}, "steps must be at least 3"),
        ({"rows": 0}, "rows must be a positive integer"),
        ({"method": "cubic"}, "unknown interpolation method"),
        ({"discriminator": other}, r"takes images of shape \(32, 32, 3\), not \(28, 28, 1\)"),
    ]:
        with pytest.raises(UserError, match=message):
            interpolate(generator, **kwargs)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A tiny untrained G (.keras) and D (.h5), as conftest's `tiny_model`."""
    folder = tmp_path_factory.mktemp("interpolate")
    config = ModelConfig(image_size=28, channels=1, latent_dim=8, g_width=8, d_width=8, kernel_size=3)
    save_model(build_generator(config), folder / "g.keras")
    save_model(build_discriminator(config), folder / "d.h5")
    return folder


def test_cli_interpolate_writes_grid_and_ratios(saved):
    result = run_cli("interpolate", "--generator", "g.keras", "--discriminator", "d.h5", "--rows", 3, "--steps", 5,
                     "--method", "slerp", "--seed", 2, "--out", "walks.png", cwd=saved)  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(last_line(result.stdout))
    assert (report["method"], report["rows"], report["steps"]) == ("slerp", 3, 5)
    for key in ("pixel", "feature"):
        rows = report[f"{key}_smoothness_per_row"]
        assert len(rows) == 3 and all(1.0 <= value <= 4.0 for value in rows)
        assert report[f"{key}_smoothness"] == max(rows)
    assert (saved / "walks.png").is_file() and report["out"] == "walks.png"
    generator, discriminator = (keras.models.load_model(saved / name) for name in ("g.keras", "d.h5"))
    expected = interpolate(generator, discriminator, rows=3, steps=5, method="slerp", seed=2)
    assert report.keys() == expected.keys()
    for key in ("pixel_smoothness_per_row", "feature_smoothness_per_row"):  # the CLI prints the function's result
        np.testing.assert_allclose(report[key], expected[key], rtol=1e-5)


def test_interpolate_in_process_checks(saved, capsys):
    generator, out = ["interpolate", "--generator", str(saved / "g.keras")], ["--out", str(saved / "y.png")]
    errors = [
        (["--steps", "2"], "--steps must be at least 3"),
        (["--latent-dim", "100"], "takes latent size 8, not 100"),
        (["--discriminator", str(saved / "g.keras")], "is not a discriminator"),
    ]
    for flags, message in errors:
        assert main([*generator, *flags, *out]) == 2
        assert message in capsys.readouterr().err
    for generator_file, message in (("missing.keras", "missing.keras does not exist"), ("d.h5", "is not a generator")):
        assert main(["interpolate", "--generator", str(saved / generator_file), *out]) == 2
        err = capsys.readouterr().err
        assert last_line(err).startswith("error:") and message in err and "Traceback" not in err
    assert not (saved / "y.png").exists()
    assert main([*generator, "--rows", "2", "--steps", "3", *out]) == 0
    report = json.loads(last_line(capsys.readouterr().out))
    assert report["feature_smoothness"] is None and report["feature_smoothness_per_row"] is None
    assert report["method"] == "linear" and len(report["pixel_smoothness_per_row"]) == 2
