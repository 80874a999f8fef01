"""utils.notebook.publish: grids of a run's epochs, its figures and models under the dataset's name, JSON results."""

import json
import math

import keras
import numpy as np
import pytest
from PIL import Image

from utils.notebook import publish
from utils.training.models import ModelConfig, build_discriminator, build_generator
from utils.training.saving import load_model, save_model


@pytest.mark.parametrize(
    ("available", "shown", "expected"),
    [
        (range(1, 4), 6, [1, 2, 3]),
        (range(1, 26), 6, [1, 6, 11, 15, 20, 25]),
        (range(1, 11), 2, [1, 10]),
        (range(1, 11), 1, [10]),
    ],
)
def test_pick_epochs_spreads_evenly_and_keeps_first_and_last(available, shown, expected):
    assert publish.pick_epochs(list(available), shown) == expected


def _fake_run(folder, epochs=3, config=None):
    """A run folder as `utils.training.train.train` leaves it: grids, GIF, loss.png and tiny models."""
    from utils.images import save_gif, save_grid

    config = config or ModelConfig(image_size=28, channels=1, g_width=8, d_width=8, latent_dim=8)
    rng = np.random.default_rng(0)
    for epoch in range(1, epochs + 1):
        save_grid(rng.uniform(-1, 1, (4, 28, 28, 1)), folder / "samples" / f"epoch_{epoch:04d}.png")
    save_gif(sorted((folder / "samples").glob("*.png")), folder / "progress.gif")
    save_grid(rng.uniform(-1, 1, (1, 40, 60, 3)), folder / "loss.png")
    for name, build in (("generator", build_generator), ("discriminator", build_discriminator)):
        for suffix in (".h5", ".keras"):
            save_model(build(config), folder / f"{name}{suffix}")
    return folder


def test_publish_run_copies_figures_and_models_under_the_dataset_name(tmp_path):
    run = _fake_run(tmp_path / "run", epochs=3)
    paths = publish.publish_run(run, "lsun/bedroom", tmp_path / "figures", tmp_path / "models")
    assert sorted(path.name for path in (tmp_path / "figures").iterdir()) == [
        "lsun_bedroom_epochs.png",
        "lsun_bedroom_loss.png",
        "lsun_bedroom_progress.gif",
        "lsun_bedroom_samples.png",
    ]
    assert sorted(path.name for path in (tmp_path / "models").iterdir()) == [
        "lsun_bedroom_discriminator.h5",
        "lsun_bedroom_discriminator.keras",
        "lsun_bedroom_generator.h5",
        "lsun_bedroom_generator.keras",
    ]
    assert paths["samples"].read_bytes() == (run / "samples" / "epoch_0003.png").read_bytes()
    assert paths["generator"].read_bytes() == (run / "generator.h5").read_bytes()
    assert load_model(paths["discriminator_keras"]).output_shape == (None, 1)
    assert publish.publish_run(run, "pokemon", tmp_path / "f2", tmp_path / "m2")["loss"].name == "pokemon_loss.png"


def test_epoch_grids_draws_one_panel_per_shown_epoch(tmp_path):
    run = _fake_run(tmp_path / "run", epochs=8)
    assert publish.epoch_grids(run, tmp_path / "a.png", shown=3) == [1, 5, 8]
    assert publish.epoch_grids(run, tmp_path / "b.png", shown=8) == list(range(1, 9))
    with Image.open(tmp_path / "a.png") as narrow, Image.open(tmp_path / "b.png") as wide:
        assert wide.size[0] > 2 * narrow.size[0]  # the figure grows with the panels
    with pytest.raises(FileNotFoundError):
        publish.epoch_grids(tmp_path / "empty", tmp_path / "c.png")


def test_write_json_writes_nan_as_null(tmp_path):
    path = publish.write_json(tmp_path / "r.json", {"a": np.float32(0.5), "b": [math.nan, 1], 3: None})
    assert json.loads(path.read_text()) == {"a": 0.5, "b": [None, 1], "3": None}


def test_classifier_loads_an_existing_file_without_training(tmp_path, capsys):
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
    path = tmp_path / "given.keras"
    save_model(model, path)
    loaded = publish.classifier("mnist", path)
    assert capsys.readouterr().out == f"classifier: {path}\n"
    assert [w.shape for w in loaded.get_weights()] == [w.shape for w in model.get_weights()]


def test_classifier_trains_and_saves_one_when_missing(tmp_path, capsys):
    from raw_datasets import write_mnist

    write_mnist(tmp_path / "idx", examples={"train": 160, "test": 32})
    path = tmp_path / "models" / "mnist_classifier.keras"
    trained = publish.classifier("mnist", path, smoke=True, data_dir=tmp_path / "idx")
    assert path.is_file() and "classifier: trained (test accuracy" in capsys.readouterr().out
    probe = np.random.default_rng(0).uniform(-1, 1, (4, 28, 28, 1)).astype("float32")
    np.testing.assert_allclose(load_model(path).predict(probe, verbose=0), trained.predict(probe, verbose=0))
