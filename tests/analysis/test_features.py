"""D's pooled conv features (paper 5.1), and `dcgan.py features`: once in a subprocess, its errors in-process."""

import json

import numpy as np
import pytest
import raw_datasets
from conftest import FASHION_MNIST_DIR, last_line, run_cli

from utils.errors import UserError

needs_fashion_mnist = pytest.mark.skipif(
    not FASHION_MNIST_DIR.is_dir(), reason=f"Fashion-MNIST IDX files not in {FASHION_MNIST_DIR}"
)


def reference_pool(maps, grid=4):
    """Adaptive max pooling written out with loops (PyTorch's bin formula), for (B, H, W, C) arrays."""
    batch, height, width, channels = maps.shape
    pooled = np.zeros((batch, grid, grid, channels), maps.dtype)
    for i in range(grid):
        for j in range(grid):
            rows = slice(i * height // grid, -(-(i + 1) * height // grid))
            cols = slice(j * width // grid, -(-(j + 1) * width // grid))
            pooled[:, i, j] = maps[:, rows, cols].max(axis=(1, 2))
    return pooled


def test_pool_bins_cover_the_map_and_overlap_only_when_needed():
    from utils.analysis.features import pool_bins

    assert pool_bins(7) == [(0, 2), (1, 4), (3, 6), (5, 7)]
    assert pool_bins(14) == [(0, 4), (3, 7), (7, 11), (10, 14)]
    assert pool_bins(8) == [(0, 2), (2, 4), (4, 6), (6, 8)]


def test_max_pool_of_a_7x7_ramp_by_hand():
    from utils.analysis.features import adaptive_max_pool

    ramp = np.arange(49, dtype=np.float32).reshape(1, 7, 7, 1)
    last = np.array([1, 3, 5, 6])  # the last row (column) of each of the four bins over 7
    expected = (last[:, None] * 7 + last[None, :]).astype(np.float32)

    pooled = np.asarray(adaptive_max_pool(ramp))

    np.testing.assert_array_equal(pooled[0, :, :, 0], expected)


@pytest.mark.parametrize("size", [4, 7, 14, 16])
def test_max_pool_matches_loops(size):
    from utils.analysis.features import adaptive_max_pool

    maps = np.random.default_rng(size).standard_normal((3, size, size, 5)).astype(np.float32)

    np.testing.assert_allclose(np.asarray(adaptive_max_pool(maps)), reference_pool(maps), rtol=0, atol=0)


def run_layers(discriminator, images, last):
    """D's activations up to and including the layer named `last`, layer by layer, in inference mode."""
    x = images
    for layer in discriminator.layers:
        x = layer(x, training=False)
        if layer.name == last:
            return np.asarray(x)
    raise AssertionError(f"no layer {last}")


def test_features_are_every_conv_activation_pooled_and_concatenated(tiny_model):
    from utils.analysis.features import extract_features, feature_extractor
    from utils.training.models import build_discriminator

    discriminator = build_discriminator(tiny_model)  # conv1 14x14x8, conv2 7x7x16
    images = np.random.default_rng(0).uniform(-1, 1, (5, 28, 28, 1)).astype(np.float32)

    features = extract_features(feature_extractor(discriminator), images, batch_size=2)

    assert features.dtype == np.float32
    assert features.shape == (5, 16 * 8 + 16 * 16)
    conv1 = reference_pool(run_layers(discriminator, images, "conv1_lrelu")).reshape(5, -1)
    conv2 = reference_pool(run_layers(discriminator, images, "conv2_lrelu")).reshape(5, -1)
    np.testing.assert_allclose(features, np.concatenate([conv1, conv2], axis=1), rtol=1e-5, atol=1e-6)


def test_batches_do_not_change_the_features(tiny_model):
    from utils.analysis.features import extract_features, feature_extractor
    from utils.training.models import build_discriminator

    extractor = feature_extractor(build_discriminator(tiny_model))
    images = np.random.default_rng(1).uniform(-1, 1, (11, 28, 28, 1)).astype(np.float32)

    np.testing.assert_allclose(
        extract_features(extractor, images, batch_size=3), extract_features(extractor, images, 64), atol=1e-6
    )


def test_random_discriminator_has_the_same_layers_and_new_seeded_weights(tiny_model):
    from utils.analysis.features import random_discriminator
    from utils.training.models import build_discriminator

    trained = build_discriminator(tiny_model)
    for weight in trained.weights:
        weight.assign(np.full(weight.shape, 0.5, np.float32))
    first, again, other = (random_discriminator(trained, seed) for seed in (3, 3, 4))

    assert [layer.name for layer in first.layers] == [layer.name for layer in trained.layers]
    assert [w.shape for w in first.weights] == [w.shape for w in trained.weights]
    kernel = first.get_layer("conv1").kernel
    assert not np.allclose(kernel, 0.5)
    np.testing.assert_array_equal(kernel, again.get_layer("conv1").kernel)
    assert not np.array_equal(kernel, other.get_layer("conv1").kernel)


def test_a_model_without_conv_activations_is_refused(tiny_model):
    from utils.analysis.features import feature_extractor
    from utils.training.models import build_generator

    with pytest.raises(UserError, match="conv"):
        feature_extractor(build_generator(tiny_model))


# --- the command line --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A tiny D and G for 28x28x1 images, a D for 32x32x3, and small Fashion-MNIST IDX files (60 test images)."""
    from utils.training.config import ModelConfig
    from utils.training.models import build_discriminator, build_generator
    from utils.training.saving import save_model

    root = tmp_path_factory.mktemp("features")
    tiny = ModelConfig(image_size=28, channels=1, latent_dim=8, g_width=8, d_width=8, kernel_size=3)
    save_model(build_discriminator(tiny), root / "D.keras")
    save_model(build_generator(tiny), root / "G.keras")
    save_model(build_discriminator(ModelConfig(image_size=32, channels=3, d_width=8, kernel_size=3)), root / "D32.h5")
    raw_datasets.write_mnist(root / "idx", {"train": 300, "test": 60})
    return root


@needs_fashion_mnist
def test_cli_prints_a_table_and_json_and_draws_a_chart(models):
    data = ("--dataset", "fashion_mnist", "--train-subset", 300, "--labels-per-class", 5, "--draws", 2)

    result = run_cli("features", "--discriminator", models / "D.keras", *data, "--out", models / "chart.png")

    assert result.returncode == 0, result.stderr
    report = json.loads(last_line(result.stdout))
    assert report["protocol"] == "5 labels per class" and report["labels_per_class"] == 5 and report["draws"] == 2
    assert report["feature_dims"] == {"d_features": 16 * 8 + 16 * 16, "raw_pixels": 784, "random_d": 16 * 8 + 16 * 16}
    for name in ("d_features", "raw_pixels", "random_d"):
        assert 0.0 <= report[name] <= 1.0
        assert len(report["accuracies"][name]) == 2
        assert report["std"][name] is not None
        assert len(report["validation"][name]) == 2 and all(report["validation"][name])
    assert report["examples"]["train"] == 50 and report["examples"]["test"] == 10000
    assert "raw pixels" in result.stdout and "random D" in result.stdout
    assert (models / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_prints_the_table_of_the_result(models, capsys):
    from utils.analysis.d_features import TITLES
    from utils.cli import main

    out = models / "small.png"
    data = ("--dataset", "fashion_mnist", "--data-dir", models / "idx", "--train-subset", 100)

    code = main(["features", "--discriminator", str(models / "D.keras"), *map(str, data), "--out", str(out)])

    stdout = capsys.readouterr().out
    assert code == 0
    report = json.loads(last_line(stdout))
    lines = stdout.splitlines()
    assert sum(line.startswith("draw 1/1: ") for line in lines) == 3
    sizes = report["examples"]
    header = f"fashion_mnist: all labels, {sizes['train']} training / {sizes['validation']} validation / 60 test"
    assert f"{header} examples, 1 draw" in lines and lines[lines.index(f"{header} examples, 1 draw") - 1] == ""
    assert sizes["train"] + sizes["validation"] == 100
    assert f"{'features':<22} {'dims':>6}  {'test accuracy':<17} C chosen on validation" in lines
    for key, title in TITLES.items():
        row = f"{title:<22} {report['feature_dims'][key]:>6}  {report[key]:.4f}{'':<10} {report['c'][key][0]:.3g}"
        assert row in lines
    assert lines[-2] == f"wrote {out}" and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert report["protocol"] == "all labels" and report["std"] == dict.fromkeys(TITLES)


@pytest.mark.parametrize(
    ("case", "flags", "fragment"),
    [
        ("missing", ("--discriminator", "missing.keras"), "model file"),
        ("generator", ("--discriminator", "G.keras"), "not a discriminator"),
        ("shape", ("--discriminator", "D32.h5"), "shape"),
        ("too many labels", ("--discriminator", "D.keras", "--labels-per-class", "1000"), "--labels-per-class 1000"),
    ],
)
def test_cli_bad_input_fails_with_one_line(models, capsys, case, flags, fragment):
    from utils.cli import main

    flags = [str(models / flag) if flag.endswith((".keras", ".h5")) else flag for flag in flags]
    data = ["--dataset", "fashion_mnist", "--data-dir", str(models / "idx"), "--train-subset", "300"]

    code = main(["features", *flags, *data, "--out", str(models / f"{case}.png")])

    stderr = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in stderr, stderr
    assert last_line(stderr).startswith("error:") and len(stderr.strip().splitlines()) == 1, stderr
    assert fragment in last_line(stderr)
    assert not (models / f"{case}.png").exists()
