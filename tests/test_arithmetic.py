"""Vector arithmetic on z: flag parsing, classifier picks, the arithmetic, figures, and `dcgan.py arithmetic`."""

import json

import keras
import numpy as np
import pytest
from conftest import FASHION_MNIST_DIR, concurrent_cli, last_line
from PIL import Image

from utils.analysis import arithmetic
from utils.cli import main
from utils.cli.arithmetic import parse_class_spec, parse_indices
from utils.errors import UserError
from utils.training.config import ModelConfig
from utils.training.models import build_discriminator, build_generator
from utils.training.samples import sample_latent
from utils.training.saving import save_model


def test_parse_indices():
    assert parse_indices("3, 17,42", 64, "--a") == [3, 17, 42]
    for text, message in [
        ("3,17", "at least 3"),
        ("3,3,4", "repeats"),
        ("1,2,64", "outside the 64 candidates"),
        ("1,-2,3", "outside"),
        ("1,two,3", "comma-separated"),
    ]:
        with pytest.raises(UserError, match=message):
            parse_indices(text, 64, "--a")


def test_parse_class_spec():
    assert parse_class_spec("7", "--a-class") == (((7, 1),), False)
    assert parse_class_spec("31=1,20=0", "--a-class") == (((31, 1), (20, 0)), True)
    for text, message in [
        ("7,8", "name one class"),
        ("3=2", "values 0 or 1"),
        ("x", "class index"),
        ("1=1,1=0", "twice"),
    ]:
        with pytest.raises(UserError, match=message):
            parse_class_spec(text, "--a-class")


def test_class_probabilities_from_probabilities_and_logits():
    softmax = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    np.testing.assert_array_equal(arithmetic.class_probabilities(softmax, False), softmax)
    logits = np.log(softmax) + 5.0  # any shift of the logits gives the same softmax
    np.testing.assert_allclose(arithmetic.class_probabilities(logits, False), softmax)
    np.testing.assert_allclose(
        arithmetic.class_probabilities(np.array([[0.0, 2.0]]), True), [[0.5, 1 / (1 + np.e**-2)]]
    )
    np.testing.assert_allclose(arithmetic.class_probabilities(np.array([[-3.0], [3.0]]), False)[:, 0].sum(), 1.0)


def test_pick_confident_and_attribute_confidence():
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.95, 0.05], [0.3, 0.7]])
    indices, scores = arithmetic.pick_confident(probabilities, ((0, 1),), 3)
    assert indices == [3, 0, 2]
    np.testing.assert_allclose(scores, [0.95, 0.9, 0.6])
    # attribute 0 present and attribute 1 absent: p0 * (1 - p1)
    np.testing.assert_allclose(arithmetic.confidence(probabilities, ((0, 1), (1, 0))), [0.81, 0.04, 0.36, 0.9025, 0.09])
    with pytest.raises(UserError, match="only 5 candidates"):
        arithmetic.pick_confident(probabilities, ((0, 1),), 6)


def test_matches_and_histogram():
    softmax = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.2, 0.5, 0.3], [0.1, 0.1, 0.8]])
    np.testing.assert_array_equal(arithmetic.matches(softmax, ((2, 1),), False), [False, True, False, True])
    assert arithmetic.predicted_histogram(softmax, False) == {"0": 1, "1": 1, "2": 2}
    sigmoid = np.array([[0.9, 0.2], [0.8, 0.7], [0.1, 0.1]])
    np.testing.assert_array_equal(arithmetic.matches(sigmoid, ((0, 1), (1, 0)), True), [True, False, False])
    assert arithmetic.predicted_histogram(sigmoid, True) == {"0": 2, "1": 1}
    assert arithmetic.predicted_labels(softmax[:2], False) == ["c0 0.70", "c2 0.80"]
    assert arithmetic.predicted_labels(sigmoid, True) == ["+0", "+0,1", "none"]


def test_concept_arithmetic_and_neighbours():
    z = sample_latent(10, 6, seed=0)
    a, b, c = (arithmetic.concept_mean(z, indices) for indices in ([0, 1, 2], [3, 4, 5], [6, 7, 8, 9]))
    np.testing.assert_allclose(a, z[:3].mean(axis=0), atol=1e-6)
    np.testing.assert_allclose(arithmetic.combine(a, b, c), z[:3].mean(0) - z[3:6].mean(0) + z[6:].mean(0), atol=1e-5)
    grid = arithmetic.with_neighbours(a, 0.25, seed=1)
    assert grid.shape == (9, 6)
    np.testing.assert_array_equal(grid[arithmetic.CENTRE], a)
    offsets = np.delete(grid, arithmetic.CENTRE, axis=0) - a
    assert np.abs(offsets).max() <= 0.25 + 1e-6 and np.abs(offsets).min() > 0
    np.testing.assert_array_equal(grid, arithmetic.with_neighbours(a, 0.25, seed=1))


def test_figures_are_written(tmp_path):
    images = np.random.default_rng(0).uniform(-1, 1, (16, 28, 28, 1))
    arithmetic.draw_candidates(images, [str(i) for i in range(16)], tmp_path / "grid.png")
    samples, captions = [images[:4], images[4:7], images[7:10]], [["#0"] * 4, ["#4"] * 3, ["#7"] * 3]
    for name, result_captions in (("a.png", None), ("b.png", ["c1 0.50"] * 9)):
        arithmetic.draw_arithmetic(
            samples, captions, ["A", "B", "C"], images[:3], images[:9], result_captions, 0.25, tmp_path / name
        )
    sizes = {}
    for name in ("grid.png", "a.png", "b.png"):
        with Image.open(tmp_path / name) as picture:
            sizes[name] = picture.size
    assert min(sizes["grid.png"]) > 100
    assert sizes["a.png"] == sizes["b.png"] and sizes["a.png"][0] > 2 * sizes["a.png"][1]  # 4 + 1 + 3 columns


@pytest.mark.skipif(not FASHION_MNIST_DIR.is_dir(), reason="Fashion-MNIST IDX files not installed")
def test_classifier_picks_real_images_of_the_class():
    from utils.data.load import load_dataset

    data = load_dataset("fashion_mnist", batch_size=900, subset=900, split="test", labels=True, shuffle=False)
    images, labels = (np.asarray(part) for part in next(iter(data.dataset)))
    keras.utils.set_random_seed(0)
    classifier = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
    classifier.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    classifier.fit(images[:600], labels[:600], batch_size=50, epochs=2, verbose=0)
    held_out = arithmetic.class_probabilities(classifier.predict(images[600:], verbose=0), False)  # from logits
    for label in (1, 7, 8):  # trouser, sneaker, bag
        indices, scores = arithmetic.pick_confident(held_out, ((label, 1),), 3)
        assert list(labels[600:][indices]) == [label] * 3
        assert scores == sorted(scores, reverse=True) and scores[-1] > 0.5


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A tiny untrained G and D (as conftest's `tiny_model`) and untrained softmax-logit and sigmoid classifiers."""
    folder = tmp_path_factory.mktemp("arithmetic")
    keras.utils.set_random_seed(0)
    config = ModelConfig(image_size=28, channels=1, latent_dim=8, g_width=8, d_width=8, kernel_size=3)
    save_model(build_generator(config), folder / "g.keras")
    save_model(build_discriminator(config), folder / "d.keras")
    for name, shape, units, activation in [
        ("classifier.keras", (28, 28, 1), 10, None),
        ("attributes.h5", (28, 28, 1), 4, "sigmoid"),
        ("rgb.keras", (32, 32, 3), 10, None),
    ]:
        model = keras.Sequential([keras.Input(shape), keras.layers.Flatten(), keras.layers.Dense(units, activation)])
        save_model(model, folder / name)
    return folder


@pytest.fixture(scope="module")
def cli(saved):
    """Start this module's `dcgan.py` subprocesses at once (each spends ~8 s importing TensorFlow)."""
    concepts = ("--a", "0,1,2", "--b", "3,4,5", "--c", "6,7,8")
    runs = {
        # A by indices, B and C by the classifier's most confident candidates
        "mixed": ("--generator", "g.keras", "--candidates", 40, "--seed", 5, "--a", "0,1,2,3", "--b-class", 2,
                  "--c-class", 3, "--classifier", "classifier.keras", "--expect-class", 3, "--noise-scale", 0.5,
                  "--candidate-grid", "candidates.png", "--out", "mixed.png"),
        "d_as_g": ("--generator", "d.keras", *concepts, "--out", "x.png"),
        "two": ("--generator", "g.keras", "--a", "0,1", "--b", "3,4,5", "--c", "6,7,8", "--out", "x.png"),
    }  # fmt: skip
    with concurrent_cli("arithmetic", runs, cwd=saved) as results:
        yield results


def test_cli_arithmetic_by_indices_and_classifier(saved, cli):
    result = cli["mixed"]
    assert result.returncode == 0, result.stderr
    report = json.loads(last_line(result.stdout))
    assert report["mode"] == "classifier" and report["noise_scale"] == 0.5
    assert report["concepts"]["a"] == {"indices": [0, 1, 2, 3], "class": None, "confidence": None}
    generator, classifier = (keras.models.load_model(saved / name) for name in ("g.keras", "classifier.keras"))
    z = sample_latent(40, 8, seed=5)
    probabilities = arithmetic.class_probabilities(
        classifier.predict(generator.predict(z, verbose=0), verbose=0), False
    )
    for name, label in (("b", 2), ("c", 3)):
        concept = report["concepts"][name]
        assert concept["class"] == str(label)
        assert concept["indices"] == list(np.argsort(-probabilities[:, label], kind="stable")[:3])
        np.testing.assert_allclose(concept["confidence"], probabilities[concept["indices"], label], rtol=1e-4)
    b, c = (report["concepts"][name]["indices"] for name in "bc")
    expected = z[:4].mean(0) - z[b].mean(0) + z[c].mean(0)
    assert report["result_norm"] == pytest.approx(float(np.linalg.norm(expected)), rel=1e-5)
    assert sum(report["result_predicted"].values()) == 9
    assert report["expected_fraction"] == pytest.approx(report["result_predicted"].get("3", 0) / 9)
    assert (saved / "mixed.png").is_file() and (saved / "candidates.png").is_file()


@pytest.mark.parametrize(
    "run, message",
    [("d_as_g", "is not a generator"), ("two", "at least 3 samples")],
)
def test_cli_arithmetic_bad_input(saved, cli, run, message):
    result = cli[run]
    assert result.returncode == 2
    assert last_line(result.stderr).startswith("error:") and message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (saved / "x.png").exists()


def test_arithmetic_in_process(saved, capsys):
    base = ["arithmetic", "--generator", str(saved / "g.keras"), "--candidates", "30", "--out", str(saved / "y.png")]
    classes = ["--a-class", "0=1", "--b-class", "1=1,2=0", "--c-class", "3"]
    errors = [
        (["--a", "0,1,2"], "give all three concepts"),
        (["--latent-dim", "100"], "takes latent size 8, not 100"),
        (classes, "need --classifier"),
        ([*classes, "--classifier", str(saved / "rgb.keras")], "must map the generator's images"),
        (["--a-class", "9=1", "--b-class", "1=1", "--c-class", "3=0", "--classifier", str(saved / "attributes.h5")], "has 4 outputs"),
        ([*classes, "--classifier", str(saved / "attributes.h5"), "--per-concept", "2"], "at least 3"),
        ([*classes, "--classifier", str(saved / "nothing.keras")], "does not exist"),
    ]  # fmt: skip
    for flags, message in errors:
        assert main([*base, *flags]) == 2
        assert message in capsys.readouterr().err
    assert main([*base, *classes, "--classifier", str(saved / "attributes.h5"), "--per-concept", "4"]) == 0
    report = json.loads(last_line(capsys.readouterr().out))
    generator, classifier = (keras.models.load_model(saved / name) for name in ("g.keras", "attributes.h5"))
    probabilities = classifier.predict(generator.predict(sample_latent(30, 8, seed=0), verbose=0), verbose=0)
    b_scores = probabilities[:, 1] * (1.0 - probabilities[:, 2])  # attribute 1 present, attribute 2 absent
    assert report["concepts"]["b"]["indices"] == list(np.argsort(-b_scores, kind="stable")[:4])
    assert all(len(report["concepts"][name]["indices"]) == 4 for name in "abc")
    assert report["concepts"]["b"]["class"] == "1=1,2=0" and report["expected_fraction"] is None
    (saved / "y.png").unlink()
    assert main(base) == 0  # no concepts: the numbered candidate grid
    assert json.loads(last_line(capsys.readouterr().out))["mode"] == "candidates"
    assert (saved / "y.png").is_file()
