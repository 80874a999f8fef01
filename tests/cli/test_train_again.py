"""`dcgan.py train` on an --out that holds a run: same settings continue it, others are refused, --overwrite restarts."""

import json

import pytest

from utils.cli import main
from utils.data.examples import make_image_folder


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return make_image_folder(tmp_path_factory.mktemp("sprites"), n=32)


def train(capsys, images, out, *extra):
    tiny = ("--g-width", 8, "--d-width", 8, "--latent-dim", 8, "--kernel-size", 3, "--batch-size", 16)
    args = ["train", "--dataset", "folder", "--data-dir", images, "--image-size", 28, *tiny, "--out", out, *extra]
    code = main([str(arg) for arg in args])
    out_text, err = capsys.readouterr()
    return code, out_text, err


def epochs_written(out):
    return sorted(path.name for path in (out / "samples").glob("epoch_*.png"))


def test_train_again_continues_finishes_or_refuses(tmp_path, capsys, images):
    out = tmp_path / "run"
    assert train(capsys, images, out, "--epochs", 1)[0] == 0

    code, text, _ = train(capsys, images, out, "--epochs", 1)  # the same again: nothing to do
    assert code == 0 and "complete at 1 epochs: nothing to do" in text
    assert epochs_written(out) == ["epoch_0001.png"]

    code, text, _ = train(capsys, images, out, "--epochs", 2)  # more epochs continue it
    assert code == 0 and "continuing the run in" in text and "resuming from epoch 1 of 2" in text
    assert epochs_written(out) == ["epoch_0001.png", "epoch_0002.png"]
    assert json.loads((out / "config.json").read_text())["training"]["epochs"] == 2

    code, _, err = train(capsys, images, out, "--epochs", 2, "--seed", 5)  # other settings: refused, kept
    assert code == 2 and err.count("\n") == 1
    assert "holds a run with other settings (training.seed: 0 -> 5); pass --overwrite" in err
    assert epochs_written(out) == ["epoch_0001.png", "epoch_0002.png"]

    code, text, _ = train(capsys, images, out, "--epochs", 1, "--seed", 5, "--overwrite")  # afresh
    assert code == 0 and "continuing" not in text
    assert epochs_written(out) == ["epoch_0001.png"]
    assert json.loads((out / "config.json").read_text())["training"]["seed"] == 5
