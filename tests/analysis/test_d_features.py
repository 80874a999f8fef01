"""utils.analysis.d_features: the SVM protocol of paper 5.1, D-feature classification, both label protocols, charts."""

import numpy as np
import pytest
import raw_datasets
from PIL import Image

from utils.analysis import d_features
from utils.analysis.d_features_plots import plot_feature_protocols
from utils.analysis.features import load_arrays
from utils.errors import UserError
from utils.training.config import ModelConfig
from utils.training.models import build_discriminator

DIMS = 16 * 4 + 16 * 8  # a d_width=4 D: conv1 14x14x4 and conv2 7x7x8, each max-pooled to 4x4


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """Fashion-MNIST's IDX files, small: 120 training and 60 test images of 10 classes."""
    folder = tmp_path_factory.mktemp("fashion_mnist")
    raw_datasets.write_mnist(folder, {"train": 120, "test": 60})
    return folder


@pytest.fixture(scope="module")
def discriminator():
    return build_discriminator(ModelConfig(image_size=28, channels=1, d_width=4, kernel_size=3))


def _png_size(path):
    with Image.open(path) as image:
        image.load()
        return image.size


def _without_seconds(result):
    return {key: value for key, value in result.items() if key != "seconds"}


def test_protocol_scores_informative_features_above_noise():
    rng = np.random.default_rng(0)
    train_y, test_y = rng.integers(0, 4, 400), rng.integers(0, 4, 200)
    centres = rng.standard_normal((4, 12)) * 3
    informative = tuple((centres[y] + rng.standard_normal((len(y), 12))).astype(np.float32) for y in (train_y, test_y))
    noise = tuple(rng.standard_normal((len(y), 12)).astype(np.float32) for y in (train_y, test_y))
    lines = []

    results, sizes = d_features.evaluate(
        {"good": informative, "noise": noise}, train_y, test_y, labels_per_class=10, draws=3, log=lines.append
    )

    assert sizes == {"train": 40, "validation": sum(round(0.1 * np.sum(train_y == c)) for c in range(4)), "test": 200}
    assert len(results["good"]["accuracies"]) == 3 and len(lines) == 6
    assert results["good"]["mean"] > 0.9
    assert results["noise"]["mean"] < 0.45
    assert results["good"]["std"] is not None and results["good"]["std"] >= 0
    for chosen, scores in zip(results["good"]["c"], results["good"]["validation"], strict=True):
        assert scores[chosen] == max(scores.values()) and "C tried" in lines[0]


def test_d_feature_classification_is_the_protocol_on_seeded_subsets(discriminator, data_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    lines = []

    result = d_features.d_feature_classification(
        discriminator, "fashion_mnist", data_dir, train_subset=100, test_subset=40, labels_per_class=2, draws=2,
        seed=3, log=lines.append,
    )  # fmt: skip

    train_x, train_y = load_arrays("fashion_mnist", data_dir, "train", 100, 3)
    test_x, test_y = load_arrays("fashion_mnist", data_dir, "test")
    keep = np.sort(np.random.default_rng(3).choice(60, 40, replace=False))
    sets = d_features.feature_sets(discriminator, train_x, test_x[keep], 3)
    results, sizes = d_features.evaluate(sets, train_y, test_y[keep], 2, 2, 3, log=lambda line: None)
    expected = d_features.record(results, sets, sizes, "2 labels per class", 2, 2, 0.0)
    assert _without_seconds(result) == _without_seconds(expected)
    assert list(result)[:3] == ["d_features", "raw_pixels", "random_d"] and result["seconds"] >= 0
    assert result["protocol"] == "2 labels per class" and result["labels_per_class"] == 2 and result["draws"] == 2
    assert result["examples"]["train"] == 20 and result["examples"]["test"] == 40
    assert result["feature_dims"] == {"d_features": DIMS, "raw_pixels": 784, "random_d": DIMS}
    for key in d_features.TITLES:
        assert result[key] == np.mean(result["accuracies"][key]) and len(result["accuracies"][key]) == 2
        assert result["std"][key] is not None
    assert len(lines) == 6 and lines[0].startswith("draw 1/2: D features (trained): test accuracy")
    assert not list(tmp_path.iterdir()), "no figure without out"


def test_d_feature_classification_draws_its_chart_only_when_asked(discriminator, data_dir, tmp_path):
    result = d_features.d_feature_classification(
        discriminator, "fashion-mnist", data_dir, train_subset=60, out=tmp_path / "f.png", log=lambda line: None
    )

    assert result["protocol"] == "all labels" and result["labels_per_class"] is None and result["draws"] == 1
    assert all(std is None for std in result["std"].values())
    assert result["examples"]["test"] == 60 and result["examples"]["train"] + result["examples"]["validation"] == 60
    assert _png_size(tmp_path / "f.png")[0] > 100


@pytest.mark.parametrize(
    ("dataset", "options", "message"),
    [
        ("celeb_a", {}, "dataset 'celeb_a' has no class labels"),
        ("cifar10", {}, r"takes images of shape \(28, 28, 1\), not \(32, 32, 3\)"),
        ("fashion_mnist", {"train_subset": 500}, "--train-subset 500 is larger than the data"),
        ("fashion_mnist", {"train_subset": 60, "labels_per_class": 1000}, "--labels-per-class 1000 is more than"),
    ],
)
def test_d_feature_classification_refuses_bad_input(discriminator, data_dir, dataset, options, message):
    with pytest.raises(UserError, match=message):
        d_features.d_feature_classification(discriminator, dataset, data_dir, log=lambda line: None, **options)


def test_feature_protocols_runs_both_label_protocols(discriminator, data_dir):
    lines = []
    options = {"data_dir": data_dir, "train_subset": 100, "test_subset": 30, "seed": 1}

    protocols = d_features.feature_protocols(discriminator, "fashion_mnist", 2, 2, log=lines.append, **options)

    assert list(protocols) == ["all labels", "2 per class"]
    few = d_features.d_feature_classification(
        discriminator, "fashion_mnist", labels_per_class=2, draws=2, log=lambda line: None, **options
    )
    assert _without_seconds(protocols["2 per class"]) == _without_seconds(few)
    assert protocols["all labels"]["draws"] == 1 and protocols["all labels"]["examples"]["test"] == 30
    summary = [line for line in lines if not line.startswith("draw ")]
    assert summary == [
        *d_features.summary_lines(protocols["all labels"]),
        *d_features.summary_lines(protocols["2 per class"]),
    ]
    mean, std = protocols["2 per class"]["random_d"], protocols["2 per class"]["std"]["random_d"]
    assert summary[-1] == f"2 labels per class: random_d: {mean:.4f} +- {std:.4f}"
    assert summary[0] == f"all labels: d_features: {protocols['all labels']['d_features']:.4f}"


def test_plot_feature_protocols_writes_a_chart(tmp_path):
    def result(d, raw, random_d, std=None):
        return {"d_features": d, "raw_pixels": raw, "random_d": random_d, "std": std or {}}

    results = {
        "all labels": result(0.89, 0.84, 0.88),
        "100 per class": result(0.83, 0.80, 0.82, {"d_features": 0.004, "raw_pixels": 0.004, "random_d": 0.005}),
    }
    plot_feature_protocols(results, tmp_path / "f.png")
    assert min(_png_size(tmp_path / "f.png")) > 100
