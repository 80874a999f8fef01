"""Nearest-neighbour search, the memorization rule, and `dcgan.py neighbours` in a subprocess."""

import json

import numpy as np
import pytest
from conftest import FASHION_MNIST_DIR, concurrent_cli, last_line, run_cli

from utils.analysis.neighbours import MOST_NEAR_DUPLICATES, QUANTILE, compare, nearest, verdict

needs_fashion_mnist = pytest.mark.skipif(
    not FASHION_MNIST_DIR.is_dir(), reason=f"Fashion-MNIST IDX files not in {FASHION_MNIST_DIR}"
)


def brute_force(queries, references, k):
    """k nearest by explicit float64 distances: (RMS distances, indices)."""
    q = queries.reshape(len(queries), -1).astype(np.float64)
    r = references.reshape(len(references), -1).astype(np.float64)
    distances = np.sqrt(((q[:, None, :] - r[None, :, :]) ** 2).mean(-1))
    order = np.argsort(distances, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(distances, order, 1), order


def test_nearest_matches_brute_force_across_batches():
    rng = np.random.default_rng(0)
    references = rng.uniform(-1, 1, (300, 6, 6, 1)).astype(np.float32)
    queries = rng.uniform(-1, 1, (23, 6, 6, 1)).astype(np.float32)

    distances, indices = nearest(queries, references, k=4, batch_size=5)
    expected_distances, expected_indices = brute_force(queries, references, 4)

    np.testing.assert_array_equal(indices, expected_indices)
    np.testing.assert_allclose(distances, expected_distances, rtol=1e-6)
    assert distances.dtype == np.float32


def test_an_exact_copy_is_found_at_distance_zero():
    rng = np.random.default_rng(1)
    references = rng.uniform(-1, 1, (500, 28 * 28)).astype(np.float32)
    copies = references[[7, 99, 321]] + np.float32(0)

    distances, indices = nearest(copies, references, k=2)

    np.testing.assert_array_equal(indices[:, 0], [7, 99, 321])
    np.testing.assert_array_equal(distances[:, 0], 0.0)
    assert (distances[:, 1] > 0.5).all()


def test_k_larger_than_the_references_is_clamped():
    distances, indices = nearest(np.zeros((2, 3)), np.array([[0, 0, 2.0], [0, 0, 1.0]]), k=5)

    assert indices.tolist() == [[1, 0], [1, 0]]
    np.testing.assert_allclose(distances, np.sqrt([[1 / 3, 4 / 3]] * 2), rtol=1e-6)


def test_samples_as_far_as_test_images_are_not_flagged():
    test = np.random.default_rng(2).uniform(1.0, 2.0, 1000)

    result = compare(test * 1.1, test)

    assert result["ratio"] == pytest.approx(1.1)
    assert result["threshold"] == pytest.approx(np.quantile(test, QUANTILE))
    assert result["near_duplicates"] < QUANTILE
    assert not result["memorization"]
    assert verdict({"pixel": result}).startswith("no sign of memorization")


def test_many_near_copies_are_flagged_even_with_a_normal_median():
    test = np.random.default_rng(3).uniform(1.0, 2.0, 1000)
    generated = test.copy()
    generated[: int(1000 * (MOST_NEAR_DUPLICATES + 0.05))] = 0.01  # a fifth are copies of training images

    result = compare(generated, test)

    assert result["ratio"] > 0.9 and result["memorization"]
    line = verdict({"pixel": compare(test, test), "D-feature": result})
    assert line.startswith("warning") and "D-feature" in line and "pixel space" not in line


def test_samples_closer_than_test_images_are_flagged():
    test = np.random.default_rng(4).uniform(1.0, 2.0, 1000)

    result = compare(test * 0.8, test)

    assert result["ratio"] == pytest.approx(0.8) and result["memorization"]


def test_copies_of_training_images_are_caught_and_fresh_draws_are_not():
    rng = np.random.default_rng(5)
    centres = rng.uniform(-1, 1, (10, 64))

    def draw(n):
        return (centres[rng.integers(0, 10, n)] + 0.3 * rng.standard_normal((n, 64))).astype(np.float32)

    train, test, fresh = draw(2000), draw(300), draw(300)
    copies = train[rng.choice(2000, 300, replace=False)] + 0.01 * rng.standard_normal((300, 64)).astype(np.float32)

    test_distances = nearest(test, train)[0][:, 0]
    copied = compare(nearest(copies, train)[0][:, 0], test_distances)
    honest = compare(nearest(fresh, train)[0][:, 0], test_distances)

    assert copied["memorization"] and copied["near_duplicates"] > 0.9
    assert not honest["memorization"] and 0.9 < honest["ratio"] < 1.1


# --- the command line --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    """Every `dcgan.py neighbours` run of the tests, started at once; `cli[0][name]` waits for one."""
    from utils.training.config import ModelConfig
    from utils.training.models import build_discriminator, build_generator
    from utils.training.saving import save_model

    root = tmp_path_factory.mktemp("neighbours")
    tiny = ModelConfig(image_size=28, channels=1, latent_dim=8, g_width=8, d_width=8, kernel_size=3)
    save_model(build_generator(tiny), root / "G.keras")
    save_model(build_discriminator(tiny), root / "D.h5")
    save_model(
        build_discriminator(ModelConfig(image_size=32, channels=3, d_width=8, kernel_size=3)), root / "D32.keras"
    )
    data = ("--dataset", "fashion_mnist", "--train-subset", 300, "--n", 40)
    runs = {
        "success": (
            "--generator",
            root / "G.keras",
            "--discriminator",
            root / "D.h5",
            *data,
            "--k",
            3,
            "--rows",
            4,
            "--out",
            root / "grid.png",
        ),
        "missing": ("--generator", root / "missing.keras", *data, "--out", root / "missing.png"),
        "discriminator as generator": ("--generator", root / "D.h5", *data, "--out", root / "d.png"),
        "shape": (
            "--generator",
            root / "G.keras",
            "--discriminator",
            root / "D32.keras",
            *data,
            "--out",
            root / "shape.png",
        ),
    }
    with concurrent_cli("neighbours", runs) as results:
        yield results, root


@needs_fashion_mnist
def test_cli_writes_both_figures_and_a_verdict(cli):
    results, root = cli
    result = results["success"]

    assert result.returncode == 0, result.stderr
    report = json.loads(last_line(result.stdout))
    for space in ("pixel", "d_features"):
        assert report[space]["median_generated"] > 0 and report[space]["median_test"] > 0
        assert report[space]["ratio"] == pytest.approx(report[space]["median_generated"] / report[space]["median_test"])
        assert 0 <= report[space]["near_duplicates"] <= 1
    assert report["verdict"] in result.stdout
    assert report["verdict"].startswith(("no sign of memorization", "warning"))
    assert report["train_examples"] == 300 and report["test_examples"] == 40 and report["n"] == 40
    for name in ("grid.png", "grid_distances.png"):
        assert (root / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@needs_fashion_mnist
@pytest.mark.parametrize(
    ("case", "fragment"),
    [("missing", "does not exist"), ("discriminator as generator", "not a generator"), ("shape", "shape")],
)
def test_cli_bad_input_fails_with_one_line(cli, case, fragment):
    result = cli[0][case]

    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    assert last_line(result.stderr).startswith("error:"), result.stderr
    assert fragment in last_line(result.stderr)


def test_cli_rows_above_n_fail_before_tensorflow(tmp_path):
    result = run_cli("neighbours", "--generator", tmp_path / "G.keras", "--dataset", "fashion_mnist",
                     "--n", 4, "--rows", 8, "--out", tmp_path / "grid.png")  # fmt: skip

    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert last_line(result.stderr) == "error: --rows 8 is more than the --n 4 generated samples"
