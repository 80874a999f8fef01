"""The offline feature extractor: classifier shape, training, `train_and_evaluate`, `dcgan.py classifier`."""

import json

import keras
import numpy as np
import pytest
import raw_datasets
from conftest import FASHION_MNIST_DIR, last_line, run_cli

from utils.analysis.classifier import (
    FEATURES,
    accuracy,
    build_classifier,
    feature_extractor,
    train_and_evaluate,
    train_classifier,
)
from utils.errors import UserError
from utils.training.saving import load_model, save_model


def stripes(count, seed):
    """Two classes anyone can tell apart: a bright top half (0) or a bright bottom half (1), plus noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, count)
    images = rng.normal(-0.8, 0.1, (count, 28, 28, 1))
    for index, label in enumerate(labels):
        images[index, 14 * label : 14 * (label + 1)] += 1.4
    return np.clip(images, -1, 1).astype(np.float32), labels


def test_classifier_maps_images_to_logits_through_a_feature_layer():
    model = build_classifier((32, 32, 3), 7)
    images = np.zeros((2, 32, 32, 3), np.float32)

    assert model.output_shape == (None, 7)
    assert model.layers[-2].name == "features" and model.layers[-2].units == FEATURES
    features = feature_extractor(model)(images)
    assert features.shape == (2, FEATURES)


def test_feature_extractor_gives_the_penultimate_layer():
    model = build_classifier((28, 28, 1), 10)
    images = stripes(4, 0)[0]
    expected = images
    for layer in model.layers[:-1]:
        expected = layer(expected, training=False)

    np.testing.assert_allclose(np.asarray(feature_extractor(model)(images)), np.asarray(expected), atol=1e-5)


def test_feature_extractor_refuses_a_model_that_takes_no_images():
    vectors = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4), keras.layers.Dense(2)])

    with pytest.raises(UserError, match="not an image classifier"):
        feature_extractor(vectors)


def test_training_learns_separable_classes_and_saves_small(tmp_path):
    images, labels = stripes(256, 1)
    test_images, test_labels = stripes(100, 2)

    model = train_classifier(images, labels, epochs=3, batch_size=32, verbose=0)

    assert accuracy(model, test_images, test_labels) == 1.0
    assert getattr(model, "optimizer", None) is None, "the returned classifier should carry no optimizer state"
    save_model(model, tmp_path / "c.keras")
    assert (tmp_path / "c.keras").stat().st_size < 800_000  # 131k weights in float32; with Adam's state 1.6 MB
    reloaded = load_model(tmp_path / "c.keras")
    np.testing.assert_allclose(np.asarray(reloaded(test_images[:5])), np.asarray(model(test_images[:5])), atol=1e-5)


@pytest.mark.parametrize(("labels", "message"), [([-1, -1, -1, -1], "no class labels"), ([0, 0, 0, 0], "single class")])
def test_training_refuses_unusable_labels(labels, message):
    with pytest.raises(UserError, match=message):
        train_classifier(np.zeros((4, 28, 28, 1), np.float32), np.array(labels), epochs=1, verbose=0)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """Small Fashion-MNIST IDX files: 64 training and 40 test images of 10 classes."""
    folder = tmp_path_factory.mktemp("fashion_mnist")
    raw_datasets.write_mnist(folder, {"train": 64, "test": 40})
    return folder


def test_train_and_evaluate_trains_on_the_training_split_and_scores_the_test_split(data_dir):
    from utils.data.load import load_dataset
    from utils.images import to_unit_range

    lines = []

    model, result = train_and_evaluate("fashion_mnist", data_dir, epochs=2, batch_size=16, subset=48, seed=3,
                                       log=lines.append)  # fmt: skip

    settings = {"data_dir": data_dir, "labels": True, "shuffle": False, "drop_remainder": False}
    train_images, train_labels = load_dataset("fashion_mnist", subset=48, seed=3, split="train", **settings).arrays()
    test_images, test_labels = load_dataset("fashion_mnist", split="test", **settings).arrays()
    expected = train_classifier(to_unit_range(train_images), train_labels, 2, 16, 3)
    for trained, by_hand in zip(model.get_weights(), expected.get_weights(), strict=True):
        np.testing.assert_array_equal(trained, by_hand)
    assert result["test_accuracy"] == accuracy(model, to_unit_range(test_images), test_labels)
    assert list(result) == ["test_accuracy", "train_examples", "test_examples", "epochs", "seconds"]
    assert (result["train_examples"], result["test_examples"], result["epochs"]) == (48, 40, 2)
    assert lines == [f"training on 48 images from IDX files in {data_dir}; testing on 40"]
    assert getattr(model, "optimizer", None) is None


@pytest.mark.parametrize(
    ("dataset", "options", "message"),
    [("celeb_a", {}, "dataset celeb_a has no class labels"), ("mnist", {"subset": 65}, "--subset 65 is larger")],
)
def test_train_and_evaluate_refuses_bad_input(data_dir, dataset, options, message):
    with pytest.raises(UserError, match=message):
        train_and_evaluate(dataset, data_dir, epochs=1, log=lambda line: None, **options)


# The command line: once in a subprocess (~10 s), the rest in-process.


@pytest.mark.skipif(not FASHION_MNIST_DIR.is_dir(), reason=f"Fashion-MNIST IDX files not in {FASHION_MNIST_DIR}")
def test_cli_trains_and_saves_a_classifier(tmp_path):
    out = tmp_path / "classifier.keras"

    result = run_cli("classifier", "--dataset", "fashion_mnist", "--subset", 2000, "--epochs", 1, "--out", out)

    assert result.returncode == 0, result.stderr
    report = json.loads(last_line(result.stdout))
    assert report["train_examples"] == 2000 and report["test_examples"] == 10000
    assert report["test_accuracy"] > 0.5, report  # 10 classes: chance is 0.1
    assert load_model(out).output_shape == (None, 10)


def test_cli_prints_the_accuracy_and_the_json_and_saves_the_model(data_dir, tmp_path, capsys):
    from utils.cli import main

    out = tmp_path / "c.h5"

    code = main(["classifier", "--dataset", "fashion_mnist", "--data-dir", str(data_dir), "--epochs", "1",
                 "--batch-size", "32", "--out", str(out)])  # fmt: skip

    lines = capsys.readouterr().out.splitlines()
    report = json.loads(lines[-1])
    assert code == 0 and lines[0] == f"training on 64 images from IDX files in {data_dir}; testing on 40"
    assert lines[-2] == f"test accuracy {report['test_accuracy']:.4f}; wrote {out}"
    assert report["out"] == str(out) and list(report)[-1] == "out" and report["epochs"] == 1
    assert (report["train_examples"], report["test_examples"]) == (64, 40)
    assert load_model(out).output_shape == (None, 10)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--dataset", "celeb_a", "--out", "c.keras"), "no class labels"),
        (("--dataset", "mnist", "--out", "c.png"), ".keras or .h5"),
    ],
)
def test_cli_bad_input_fails_with_one_line(tmp_path, monkeypatch, capsys, args, fragment):
    from utils.cli import main

    monkeypatch.chdir(tmp_path)

    code = main(["classifier", *args])

    stderr = capsys.readouterr().err
    assert "Traceback" not in stderr and code == 2
    assert last_line(stderr).startswith("error:") and fragment in last_line(stderr), stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert not list(tmp_path.iterdir()), "nothing should be written"
