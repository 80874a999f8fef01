"""utils.notebook.experiments.d_features: D-feature classification on a test subset, under both label protocols."""

import pytest
from PIL import Image

from utils.errors import UserError
from utils.notebook import smoke_data
from utils.notebook.experiments import d_features
from utils.training.config import ModelConfig
from utils.training.models import build_discriminator


def _png(path):
    with Image.open(path) as image:
        image.load()
        return image.size


def _features_result(d, raw, random_d, std=None):
    return {"d_features": d, "raw_pixels": raw, "random_d": random_d, "std": std or {}}


def test_plot_feature_protocols_writes_a_chart(tmp_path):
    results = {
        "all labels": _features_result(0.89, 0.84, 0.88),
        "100 per class": _features_result(
            0.83, 0.80, 0.82, {"d_features": 0.004, "raw_pixels": 0.004, "random_d": 0.005}
        ),
    }
    d_features.plot_feature_protocols(results, tmp_path / "f.png")
    assert min(_png(tmp_path / "f.png")) > 100


def test_d_feature_classification_scores_three_feature_sets_on_a_test_subset(tmp_path):
    discriminator = build_discriminator(ModelConfig(image_size=28, channels=1, d_width=4, kernel_size=3))
    lines = []
    with smoke_data(True, num_examples=120):
        result = d_features.d_feature_classification(
            discriminator, "mnist", test_subset=50, seed=3, out=tmp_path / "f.png", log=lines.append
        )
        protocols = d_features.feature_protocols(
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
        d_features.d_feature_classification(discriminator, "celeb_a")
