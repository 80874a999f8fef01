"""Re-running a notebook's training cell: same settings continue the run, FRESH or other settings set it aside."""

import pytest

from utils.data.examples import make_image_folder
from utils.notebook import train_run, training_config


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return make_image_folder(tmp_path_factory.mktemp("sprites"), n=32)


def config(images, epochs, seed=0):
    tiny = {"g_width": 8, "d_width": 8, "latent_dim": 8, "kernel_size": 3}
    return training_config("folder", epochs, 16, 28, 1, seed=seed, data_dir=str(images), **tiny)


def grids(out):
    return sorted(path.name for path in (out / "samples").glob("epoch_*.png"))


def test_rerunning_the_training_cell(tmp_path, images):
    out, lines = tmp_path / "run", []
    assert train_run(config(images, 1), out, log=lines.append) == out
    assert grids(out) == ["epoch_0001.png"]

    lines.clear()
    train_run(config(images, 1), out, log=lines.append)  # run again unchanged: nothing to train
    assert lines == [f"{out} holds this run, complete at 1 epochs: nothing to train (a larger EPOCHS continues it)"]

    lines.clear()
    train_run(config(images, 2), out, log=lines.append)  # EPOCHS grew: continue
    assert lines[0] == f"continuing the run in {out} from epoch 1 of 2: same settings"
    assert grids(out) == ["epoch_0001.png", "epoch_0002.png"]

    lines.clear()
    train_run(config(images, 1, seed=3), out, log=lines.append)  # other settings: the old run is kept aside
    aside = tmp_path / "run.old-1"
    assert lines[0] == f"settings changed (training.seed: 0 -> 3): the earlier run is kept as {aside}; starting afresh"
    assert grids(aside) == ["epoch_0001.png", "epoch_0002.png"] and grids(out) == ["epoch_0001.png"]

    lines.clear()
    train_run(config(images, 1, seed=3), out, fresh=True, log=lines.append)
    assert lines[0].startswith(f"FRESH = True: the earlier run is kept as {tmp_path / 'run.old-2'}")
    assert (tmp_path / "run.old-2" / "generator.keras").is_file() and grids(out) == ["epoch_0001.png"]
