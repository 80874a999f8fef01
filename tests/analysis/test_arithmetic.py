"""Vector arithmetic on z: flag parsing, classifier picks, the arithmetic, figures, and `dcgan.py arithmetic`."""

import json
import logging

import keras
import numpy as np
import pytest
from conftest import FASHION_MNIST_DIR, last_line, run_cli
from PIL import Image

from utils.analysis import arithmetic, arithmetic_classifier, arithmetic_plots
from utils.analysis.arithmetic import parse_indices, vector_arithmetic
from utils.analysis.arithmetic_classifier import parse_class_spec
from utils.cli import main
from utils.errors import UserError
from utils.training.config import ModelConfig
from utils.training.models import build_discriminator, build_generator
from utils.training.samples import sample_latent
from utils.training.saving import save_model


def test_parse_indices():
    assert parse_indices("3, 17,42", 64, "--a") == [3, 17, 42]
    assert parse_indices([3, 17, np.int64(42)], 64, "a") == [3, 17, 42]
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
    assert parse_class_spec(7, "a_class") == (((7, 1),), False)
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
    np.testing.assert_array_equal(arithmetic_classifier.class_probabilities(softmax, False), softmax)
    logits = np.log(softmax) + 5.0  # any shift of the logits gives the same softmax
    np.testing.assert_allclose(arithmetic_classifier.class_probabilities(logits, False), softmax)
    np.testing.assert_allclose(
        arithmetic_classifier.class_probabilities(np.array([[0.0, 2.0]]), True), [[0.5, 1 / (1 + np.e**-2)]]
    )
    np.testing.assert_allclose(
        arithmetic_classifier.class_probabilities(np.array([[-3.0], [3.0]]), False)[:, 0].sum(), 1.0
    )


def test_pick_confident_and_attribute_confidence():
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.95, 0.05], [0.3, 0.7]])
    indices, scores = arithmetic_classifier.pick_confident(probabilities, ((0, 1),), 3)
    assert indices == [3, 0, 2]
    np.testing.assert_allclose(scores, [0.95, 0.9, 0.6])
    # attribute 0 present and attribute 1 absent: p0 * (1 - p1)
    np.testing.assert_allclose(
        arithmetic_classifier.confidence(probabilities, ((0, 1), (1, 0))), [0.81, 0.04, 0.36, 0.9025, 0.09]
    )
    with pytest.raises(UserError, match="only 5 candidates"):
        arithmetic_classifier.pick_confident(probabilities, ((0, 1),), 6)


def test_matches_and_histogram():
    softmax = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.2, 0.5, 0.3], [0.1, 0.1, 0.8]])
    np.testing.assert_array_equal(arithmetic_classifier.matches(softmax, ((2, 1),), False), [False, True, False, True])
    assert arithmetic_classifier.predicted_histogram(softmax, False) == {"0": 1, "1": 1, "2": 2}
    sigmoid = np.array([[0.9, 0.2], [0.8, 0.7], [0.1, 0.1]])
    np.testing.assert_array_equal(arithmetic_classifier.matches(sigmoid, ((0, 1), (1, 0)), True), [True, False, False])
    assert arithmetic_classifier.predicted_histogram(sigmoid, True) == {"0": 2, "1": 1}
    assert arithmetic_plots.predicted_labels(softmax[:2], False) == ["c0 0.70", "c2 0.80"]
    assert arithmetic_plots.predicted_labels(sigmoid, True) == ["+0", "+0,1", "none"]


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
    arithmetic_plots.draw_candidates(images, [str(i) for i in range(16)], tmp_path / "grid.png")
    samples, captions = [images[:4], images[4:7], images[7:10]], [["#0"] * 4, ["#4"] * 3, ["#7"] * 3]
    for name, result_captions in (("a.png", None), ("b.png", ["c1 0.50"] * 9)):
        arithmetic_plots.draw_arithmetic(
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
    held_out = arithmetic_classifier.class_probabilities(
        classifier.predict(images[600:], verbose=0), False
    )  # from logits
    for label in (1, 7, 8):  # trouser, sneaker, bag
        indices, scores = arithmetic_classifier.pick_confident(held_out, ((label, 1),), 3)
        assert list(labels[600:][indices]) == [label] * 3
        assert scores == sorted(scores, reverse=True) and scores[-1] > 0.5


def models(config, classifier_units=4, activation="sigmoid"):
    """A tiny untrained generator and a classifier of its images (a new pair of model objects every call)."""
    keras.utils.set_random_seed(0)
    classifier = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(classifier_units, activation)]
    )
    return build_generator(config), classifier


def test_vector_arithmetic_by_indices_returns_the_result_and_draws_only_with_out(tiny_model, tmp_path):
    generator, _ = models(tiny_model)

    report = vector_arithmetic(generator, a="0,1,2", b=[3, 4, 5], c=[6, 7, 8, 9], candidates=12, seed=3)

    z = sample_latent(12, 8, seed=3)
    expected = arithmetic.combine(z[:3].mean(0), z[3:6].mean(0), z[6:10].mean(0))
    assert report == {
        "mode": "indices",
        "candidates": 12,
        "seed": 3,
        "concepts": {
            "a": {"indices": [0, 1, 2], "class": None, "confidence": None},
            "b": {"indices": [3, 4, 5], "class": None, "confidence": None},
            "c": {"indices": [6, 7, 8, 9], "class": None, "confidence": None},
        },
        "noise_scale": 0.25,
        "result_norm": pytest.approx(float(np.linalg.norm(expected)), rel=1e-5),
        "out": None,
    }
    assert list(tmp_path.iterdir()) == []
    drawn = vector_arithmetic(
        generator, a="0,1,2", b="3,4,5", c="6,7,8,9", candidates=12, seed=3, out=tmp_path / "a.png"
    )
    assert drawn == {**report, "out": str(tmp_path / "a.png")}
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.png"]
    grid = vector_arithmetic(
        generator, a="0,1,2", b="3,4,5", c="6,7,8", candidates=12, candidate_grid=tmp_path / "g.png"
    )
    assert grid["out"] is None and sorted(path.name for path in tmp_path.iterdir()) == ["a.png", "g.png"]


def test_vector_arithmetic_candidates_only(tiny_model, tmp_path):
    generator, _ = models(tiny_model)

    assert vector_arithmetic(generator, candidates=10, seed=1) == {
        "mode": "candidates", "candidates": 10, "seed": 1, "out": None
    }  # fmt: skip
    assert list(tmp_path.iterdir()) == []
    report = vector_arithmetic(generator, candidates=10, seed=1, out=tmp_path / "c.png")
    assert report["out"] == str(tmp_path / "c.png") and (tmp_path / "c.png").read_bytes().startswith(b"\x89PNG")
    # with a separate candidate grid, the grid goes there (and --out is left alone, as the command always did)
    vector_arithmetic(generator, candidates=10, candidate_grid=tmp_path / "g.png", out=tmp_path / "o.png")
    assert (tmp_path / "g.png").is_file() and not (tmp_path / "o.png").exists()


@pytest.mark.parametrize("classifier_range", ["signed", "unit", "uint8"])
def test_vector_arithmetic_picks_by_the_classifier_on_its_pixel_range(tiny_model, classifier_range):
    generator, classifier = models(tiny_model)
    low, high = {"signed": (-1.0, 1.0), "unit": (0.0, 1.0), "uint8": (0.0, 255.0)}[classifier_range]

    report = vector_arithmetic(
        generator, classifier=classifier, a_class="0=1", b_class="1=1,2=0", c_class=3, expect_class="1=1,2=0",
        classifier_range=classifier_range, per_concept=4, noise_scale=0.5, candidates=30, seed=2,
    )  # fmt: skip

    z = sample_latent(30, 8, seed=2)
    pixels = (np.asarray(generator(z, training=False)) + 1.0) / 2.0 * (high - low) + low
    probabilities = np.asarray(classifier(pixels, training=False))
    b_scores = probabilities[:, 1] * (1.0 - probabilities[:, 2])
    assert report["mode"] == "classifier"
    assert report["concepts"]["b"]["indices"] == list(np.argsort(-b_scores, kind="stable")[:4])
    np.testing.assert_allclose(report["concepts"]["b"]["confidence"], np.sort(b_scores)[::-1][:4], rtol=1e-4)
    assert report["concepts"]["c"]["class"] == "3" and report["expect_class"] == "1=1,2=0"
    assert report["concepts"]["c"]["indices"] == list(np.argsort(-probabilities[:, 3], kind="stable")[:4])
    means = [z[report["concepts"][name]["indices"]].mean(0) for name in "abc"]
    result_z = arithmetic.with_neighbours(arithmetic.combine(*means), 0.5, seed=2)
    results = (np.asarray(generator(result_z, training=False)) + 1.0) / 2.0 * (high - low) + low
    result_probabilities = np.asarray(classifier(results, training=False))
    assert report["result_predicted"] == arithmetic_classifier.predicted_histogram(result_probabilities, True)
    expected = (result_probabilities[:, 1] > 0.5) & (result_probabilities[:, 2] <= 0.5)
    assert report["expected_fraction"] == pytest.approx(np.mean(expected))
    if classifier_range == "signed":  # the untrained classifier sees attribute 1 in some results, not all
        assert 0 < report["expected_fraction"] < 1


def test_vector_arithmetic_rejects_inconsistent_arguments(tiny_model):
    generator, classifier = models(tiny_model)
    _, rgb = models(ModelConfig(image_size=28, channels=1, latent_dim=8, g_width=8), classifier_units=2)
    classes = {"a_class": "0", "b_class": "1", "c_class": "3"}
    indices = {"a": "0,1,2", "b": "3,4,5", "c": "6,7,8"}
    for kwargs, message in [
        (classes, "need a classifier"),
        ({**indices, "expect_class": 2}, "need a classifier"),
        ({"a": "0,1,2", "b_class": "1"}, "give all three concepts"),
        ({**indices, "a_class": "1", "classifier": classifier}, "give a or a_class, not both"),
        ({**indices, "a": "0,1"}, "a needs at least 3 samples"),
        ({**indices, "c": [6, 7, 64]}, "outside the 64 candidates"),
        ({**classes, "classifier": classifier, "per_concept": 2}, "per_concept must be at least 3"),
        ({**classes, "classifier": classifier, "classifier_range": "percent"}, "classifier_range must be one of"),
        ({**indices, "noise_scale": float("nan")}, "noise_scale must be a finite number"),
        ({"candidates": 0}, "candidates must be at least 1"),
        ({**classes, "c_class": "3=1", "classifier": rgb}, "has 2 outputs; a class spec names 3"),
        ({**classes, "b_class": "1=2", "classifier": classifier}, "b_class 1=2: indices must be >= 0"),
    ]:
        with pytest.raises(UserError, match=message):
            vector_arithmetic(generator, **kwargs)
    flat = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10)])
    with pytest.raises(UserError, match="it must map the generator's images"):
        vector_arithmetic(generator, classifier=flat, **classes)


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


def test_vector_arithmetic_again_does_not_retrace(tiny_model, tensorflow_warnings):
    """A notebook runs the analysis again (on models loaded again): TensorFlow must not warn about retracing."""
    kwargs = {"a_class": "0", "b_class": "1", "c_class": "2", "expect_class": "3", "candidates": 20}
    generator, classifier = models(tiny_model, classifier_units=10, activation=None)
    first = vector_arithmetic(generator, classifier=classifier, **kwargs)
    assert vector_arithmetic(generator, classifier=classifier, **kwargs) == first
    for _ in range(2):
        generator, classifier = models(tiny_model, classifier_units=10, activation=None)
        assert vector_arithmetic(generator, classifier=classifier, **kwargs) == first
    assert not [record.getMessage() for record in tensorflow_warnings if "retracing" in record.getMessage()]


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


def test_cli_arithmetic_by_indices_and_classifier(saved):
    # A by indices, B and C by the classifier's most confident candidates
    result = run_cli("arithmetic", "--generator", "g.keras", "--candidates", 40, "--seed", 5, "--a", "0,1,2,3",
                     "--b-class", 2, "--c-class", 3, "--classifier", "classifier.keras", "--expect-class", 3,
                     "--noise-scale", 0.5, "--candidate-grid", "candidates.png", "--out", "mixed.png",
                     cwd=saved)  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(last_line(result.stdout))
    assert report["mode"] == "classifier" and report["noise_scale"] == 0.5
    assert report["concepts"]["a"] == {"indices": [0, 1, 2, 3], "class": None, "confidence": None}
    generator, classifier = (keras.models.load_model(saved / name) for name in ("g.keras", "classifier.keras"))
    z = sample_latent(40, 8, seed=5)
    probabilities = arithmetic_classifier.class_probabilities(
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
    assert report["out"] == "mixed.png" and report["expect_class"] == "3"
    expected = vector_arithmetic(  # the command prints the function's result
        generator, a="0,1,2,3", b_class="2", c_class="3", classifier=classifier, expect_class="3", noise_scale=0.5,
        candidates=40, seed=5,
    )  # fmt: skip
    assert report.keys() == expected.keys()
    assert {key: value["indices"] for key, value in report["concepts"].items()} == {
        key: value["indices"] for key, value in expected["concepts"].items()
    }
    assert (report["result_predicted"], report["expected_fraction"]) == (
        expected["result_predicted"], expected["expected_fraction"]
    )  # fmt: skip


def test_arithmetic_in_process(saved, capsys):
    base = ["arithmetic", "--generator", str(saved / "g.keras"), "--candidates", "30", "--out", str(saved / "y.png")]
    classes = ["--a-class", "0=1", "--b-class", "1=1,2=0", "--c-class", "3"]
    errors = [
        (["--a", "0,1,2"], "give all three concepts"),
        (["--a", "0,1", "--b", "3,4,5", "--c", "6,7,8"], "--a needs at least 3 samples"),
        (["--latent-dim", "100"], "takes latent size 8, not 100"),
        (classes, "need --classifier"),
        ([*classes, "--classifier", str(saved / "rgb.keras")], "must map the generator's images"),
        (["--a-class", "9=1", "--b-class", "1=1", "--c-class", "3=0", "--classifier", str(saved / "attributes.h5")], "has 4 outputs"),
        ([*classes, "--classifier", str(saved / "attributes.h5"), "--per-concept", "2"], "at least 3"),
        ([*classes, "--classifier", str(saved / "nothing.keras")], "does not exist"),
    ]  # fmt: skip
    for flags, message in errors:
        assert main([*base, *flags]) == 2
        err = capsys.readouterr().err
        assert last_line(err).startswith("error:") and message in err and "Traceback" not in err
    concepts = ["--a", "0,1,2", "--b", "3,4,5", "--c", "6,7,8"]
    assert main(["arithmetic", "--generator", str(saved / "d.keras"), *concepts, "--out", str(saved / "y.png")]) == 2
    err = capsys.readouterr().err
    assert last_line(err).startswith("error:") and "is not a generator" in err and "Traceback" not in err
    assert not (saved / "y.png").exists()
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
