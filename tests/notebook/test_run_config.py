"""utils.notebook.run_config: the run configuration the notebooks train with, full-size and shrunk to a smoke run."""

from utils.notebook import run_config
from utils.training.config import model_config


def test_training_config_is_what_train_takes_and_smoke_shrinks_it():
    config = run_config.training_config("fashion_mnist", 25, 128, 28, seed=0)
    assert config["data"] == {
        "name": "fashion_mnist",
        "data_dir": None,
        "subset": None,
        "image_size": 28,
        "channels": 1,
    }
    assert config["model"] == {**model_config("paper", image_size=28, channels=1).__dict__}
    assert config["training"]["epochs"] == 25 and config["training"]["batch_size"] == 128

    smoke = run_config.training_config("lsun_bedroom", 15, 128, subset=100_000, smoke=True, latent_dim=20)
    assert smoke["data"]["name"] == "lsun/bedroom" and smoke["data"]["image_size"] == 64
    assert smoke["data"]["subset"] == run_config.SMOKE_TRAINING["subset"]
    assert (
        smoke["training"]["epochs"] == 2 and smoke["training"]["batch_size"] == run_config.SMOKE_TRAINING["batch_size"]
    )
    assert (smoke["model"]["g_width"], smoke["model"]["d_width"], smoke["model"]["latent_dim"]) == (8, 8, 20)

    wide = run_config.training_config("fashion_mnist", 1, 16, architecture="seed002-extra-layer", smoke=True, g_width=4)
    assert wide["model"]["image_size"] == 128 and wide["model"]["g_width"] == 4 and wide["model"]["d_width"] == 8
    assert run_config.training_config("fashion_mnist", 5, 8, subset=10, smoke=True)["data"]["subset"] == 10
