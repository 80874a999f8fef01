"""utils.notebook.experiments.d_features: the notebooks' D-feature classification, given a model or its file."""

import numpy as np
import pytest

from tests import raw_datasets
from utils.analysis import d_features as analysis
from utils.analysis.d_features_plots import plot_feature_protocols
from utils.notebook import experiments
from utils.training.config import ModelConfig
from utils.training.models import build_discriminator
from utils.training.saving import save_model


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A tiny discriminator, in memory and in a file, and small Fashion-MNIST IDX files."""
    root = tmp_path_factory.mktemp("experiments_d_features")
    discriminator = build_discriminator(ModelConfig(image_size=28, channels=1, d_width=4, kernel_size=3))
    save_model(discriminator, root / "D.keras")
    raw_datasets.write_mnist(root / "idx", {"train": 80, "test": 30})
    return discriminator, root


def test_d_feature_classification_takes_the_file_and_logs_a_summary(saved):
    _, root = saved
    lines = []

    result = experiments.d_feature_classification(
        str(root / "D.keras"), "fashion_mnist", data_dir=root / "idx", train_subset=60, test_subset=20, log=lines.append
    )

    assert result["examples"]["test"] == 20 and result["feature_dims"]["d_features"] == 16 * 4 + 16 * 8
    assert len(lines) == 6 and lines[:3] == [line for line in lines if line.startswith("draw 1/1: ")]
    assert lines[3:] == analysis.summary_lines(result)
    assert lines[3] == f"all labels: d_features: {result['d_features']:.4f}"


@pytest.mark.parametrize("as_file", [True, False])
def test_feature_protocols_passes_the_loaded_model_on(saved, monkeypatch, as_file):
    discriminator, root = saved
    calls = []
    monkeypatch.setattr(analysis, "feature_protocols", lambda *args, **options: calls.append((args, options)) or {})

    experiments.feature_protocols(root / "D.keras" if as_file else discriminator, "mnist", 3, 4, seed=5, log=print)

    (model, *args), options = calls[0]
    assert args == ["mnist", 3, 4] and options == {"seed": 5, "log": print}
    assert (model is discriminator) is not as_file
    for loaded, built in zip(model.get_weights(), discriminator.get_weights(), strict=True):
        np.testing.assert_array_equal(loaded, built)
    assert experiments.plot_feature_protocols is plot_feature_protocols
