"""utils.training.train.train() in-process: every output of a run, resuming, NaN/Inf divergence and Ctrl-C."""

import copy
import csv
import dataclasses
import json
import os
import re
import shutil
import signal

import numpy as np
import pytest
from conftest import FASHION_MNIST_DIR, last_line
from PIL import Image

from utils import cli
from utils.errors import UserError
from utils.training.callbacks import NonFiniteGuard
from utils.training.checkpoint import load_checkpoint
from utils.training.config import ModelConfig
from utils.training.samples import sample_latent
from utils.training.saving import load_discriminator, load_generator
from utils.training.train import build_trainer, train

SUBSET, BATCH_SIZE = 128, 32
STEPS = SUBSET // BATCH_SIZE  # updates of each network per epoch
GRID_SIDE = 8 * (28 + 2) + 2  # 64 samples of 28 pixels in an 8x8 grid with 2-pixel padding
MODEL_FILES = ("generator.keras", "generator.h5", "discriminator.keras", "discriminator.h5")

needs_fashion_mnist = pytest.mark.skipif(
    not FASHION_MNIST_DIR.is_dir(), reason=f"Fashion-MNIST IDX files not in {FASHION_MNIST_DIR}"
)


def make_config(model, epochs, learning_rate=2e-4):
    """A run configuration shaped like the one `dcgan.py train` builds."""
    return {
        "data": {"name": "fashion_mnist", "data_dir": None, "subset": SUBSET, "image_size": 28, "channels": 1},
        "model": dataclasses.asdict(model),
        "training": {
            "epochs": epochs,
            "batch_size": BATCH_SIZE,
            "learning_rate": learning_rate,
            "beta_1": 0.5,
            "seed": 0,
            "monitor": "g_loss",
        },
        "command": "test",
    }


def quiet_train(config, out, **kwargs):
    return train(copy.deepcopy(config), out, verbose=0, log=lambda *_: None, **kwargs)


def read_rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def fresh_trainer(config):
    training = config["training"]
    return build_trainer(
        ModelConfig(**config["model"]), training["learning_rate"], training["beta_1"], training["seed"]
    )


def numpy_values(variables):
    return [np.array(variable) for variable in variables]


def assert_same_values(actual, expected):
    assert len(actual) == len(expected)
    for a, b in zip(actual, expected, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def saved_files(folder):
    """Bytes of the checkpoints, the saved models and the first sample grid of a run folder."""
    paths = [*sorted((folder / "checkpoints").glob("*.npz")), *(folder / name for name in MODEL_FILES)]
    paths.append(folder / "samples" / "epoch_0001.png")
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in paths}


@pytest.fixture(scope="module")
def one_epoch_run(tmp_path_factory):
    """A finished one-epoch run, shared read-only: tests copy `folder` before changing anything."""
    if not FASHION_MNIST_DIR.is_dir():
        pytest.skip(f"Fashion-MNIST IDX files not in {FASHION_MNIST_DIR}")
    # The settings of conftest's function-scoped `tiny_model`.
    model = ModelConfig(image_size=28, channels=1, latent_dim=8, g_width=8, d_width=8, kernel_size=3)
    config = make_config(model, epochs=1)
    folder = tmp_path_factory.mktemp("one_epoch") / "run"
    gan, _ = quiet_train(config, folder)
    return {
        "folder": folder,
        "config": config,
        "model": model,
        "generator": numpy_values(gan.generator.weights),
        "discriminator": numpy_values(gan.discriminator.weights),
        "g_optimizer": numpy_values(gan.g_optimizer.variables),
        "d_optimizer": numpy_values(gan.d_optimizer.variables),
    }


@pytest.fixture
def run_copy(one_epoch_run, tmp_path):
    """A private copy of the one-epoch run folder."""
    return shutil.copytree(one_epoch_run["folder"], tmp_path / "run")


@needs_fashion_mnist
def test_train_writes_every_output(tiny_model, tmp_path):
    config = make_config(tiny_model, epochs=2)
    out = tmp_path / "run"

    gan, history = quiet_train(config, out)

    for name in (*MODEL_FILES, "history.csv", "loss.png", "progress.gif", "config.json"):
        assert (out / name).is_file(), name
    # history.csv: one row per epoch with the values Keras logged.
    rows = read_rows(out / "history.csv")
    assert [int(row["epoch"]) for row in rows] == [1, 2]
    for key in ("d_loss", "g_loss", "d_real", "d_fake"):
        np.testing.assert_allclose([float(row[key]) for row in rows], history.history[key], rtol=1e-6)
    # Figures: the loss curve, one sample grid per epoch and a GIF with one frame per grid.
    with Image.open(out / "loss.png") as image:
        assert image.format == "PNG"
    assert sorted(path.name for path in (out / "samples").iterdir()) == ["epoch_0001.png", "epoch_0002.png"]
    for path in (out / "samples").iterdir():
        with Image.open(path) as image:
            assert image.format == "PNG" and image.size == (GRID_SIDE, GRID_SIDE)
    with Image.open(out / "progress.gif") as image:
        assert image.format == "GIF" and image.n_frames == 2
    # Checkpoints: last.npz after epoch 2, best.npz at the epoch with the lowest g_loss.
    with np.load(out / "checkpoints" / "last.npz") as last:
        assert int(last["epoch"]) == 2
    with np.load(out / "checkpoints" / "best.npz") as best:
        g_losses = history.history["g_loss"]
        assert int(best["epoch"]) == int(np.argmin(g_losses)) + 1
        assert float(best["monitor_value"]) == pytest.approx(min(g_losses), rel=1e-6)
    restored = fresh_trainer(config)
    assert load_checkpoint(restored, out / "checkpoints" / "last.npz")["epoch"] == 2
    assert_same_values(restored.generator.weights, gan.generator.weights)
    assert list((out / "logs").rglob("events.out.tfevents.*")), "no TensorBoard event file under logs/"
    saved = json.loads((out / "config.json").read_text())
    assert {key: saved[key] for key in config} == config
    assert saved["versions"]["tensorflow"] and saved["versions"]["keras"]
    # The saved models are the trained ones, and .h5 and .keras agree exactly.
    z = sample_latent(6, tiny_model.latent_dim, seed=5)
    expected = np.asarray(gan.generator(z, training=False))
    for name in ("generator.keras", "generator.h5"):
        np.testing.assert_allclose(
            load_generator(out / name, tiny_model.latent_dim).predict(z, verbose=0), expected, atol=1e-6
        )
    images = expected
    expected_logits = np.asarray(gan.discriminator(images, training=False))
    for name in ("discriminator.keras", "discriminator.h5"):
        logits = load_discriminator(out / name, (28, 28, 1)).predict(images, verbose=0)
        np.testing.assert_allclose(logits, expected_logits, rtol=1e-5, atol=1e-6)


@needs_fashion_mnist
def test_resume_continues_from_the_last_checkpoint(one_epoch_run, run_copy):
    out, config = run_copy, one_epoch_run["config"]
    checkpoint = out / "checkpoints" / "last.npz"
    with np.load(checkpoint) as saved:
        assert int(saved["epoch"]) == 1
        noise_before = saved["fixed_noise"].copy()
    rows_before = read_rows(out / "history.csv")
    first_grid = (out / "samples" / "epoch_0001.png").read_bytes()

    # The checkpoint holds the state the run ended with: weights, both optimizers (4 steps each), noise.
    restored = fresh_trainer(config)
    state = load_checkpoint(restored, checkpoint)
    assert state["epoch"] == 1
    np.testing.assert_array_equal(state["fixed_noise"], noise_before)
    for group in ("generator", "discriminator"):
        assert_same_values(getattr(restored, group).weights, one_epoch_run[group])
    for group in ("g_optimizer", "d_optimizer"):
        assert_same_values(getattr(restored, group).variables, one_epoch_run[group])
        assert int(getattr(restored, group).iterations) == STEPS

    gan, history = quiet_train({**config, "training": {**config["training"], "epochs": 2}}, out, resume=True)

    assert history.epoch == [1], "the resumed fit() should run only the second epoch"
    assert len(history.history["g_loss"]) == 1
    rows = read_rows(out / "history.csv")
    assert [int(row["epoch"]) for row in rows] == [1, 2]
    assert rows[0] == rows_before[0], "epoch 1's row must be kept, not recomputed"
    # Both optimizers went on from the checkpoint's 4 steps rather than from 0.
    assert int(gan.g_optimizer.iterations) == int(gan.d_optimizer.iterations) == 2 * STEPS
    with np.load(checkpoint) as saved:
        assert int(saved["epoch"]) == 2
        np.testing.assert_array_equal(saved["fixed_noise"], noise_before)
    assert (out / "samples" / "epoch_0001.png").read_bytes() == first_grid
    assert (out / "samples" / "epoch_0002.png").is_file()
    with Image.open(out / "progress.gif") as image:
        assert image.n_frames == 2


def test_resume_without_checkpoint_is_a_user_error(tiny_model, tmp_path):
    out = tmp_path / "empty"
    with pytest.raises(UserError, match="no checkpoint"):
        quiet_train(make_config(tiny_model, epochs=1), out, resume=True)
    assert list(out.iterdir()) == []


@needs_fashion_mnist
def test_divergence_stops_with_a_clear_message(one_epoch_run, tmp_path):
    """A run whose losses become NaN stops with a UserError naming the values, and saves no models."""
    out = tmp_path / "diverged"
    diverging = make_config(one_epoch_run["model"], epochs=1, learning_rate=1e30)

    with pytest.raises(UserError) as info:
        quiet_train(diverging, out)

    message = str(info.value)
    assert "NaN/Inf" in message
    assert re.search(r"=-?(nan|inf)\b", message), f"no NaN/Inf value reported: {message}"
    assert not (out / "generator.keras").exists()
    assert not (out / "checkpoints" / "last.npz").exists()


@needs_fashion_mnist
def test_new_run_refuses_a_folder_holding_a_run(one_epoch_run, run_copy):
    """train() without resume or overwrite leaves an earlier run alone; with overwrite it starts afresh."""
    before = saved_files(run_copy)
    with pytest.raises(UserError, match="already holds a run"):
        quiet_train(one_epoch_run["config"], run_copy)
    assert saved_files(run_copy) == before


@needs_fashion_mnist
def test_resume_with_diverging_learning_rate_keeps_checkpoints(one_epoch_run, run_copy):
    out = run_copy
    before = saved_files(out)
    history = (out / "history.csv").read_bytes()
    diverging = make_config(one_epoch_run["model"], epochs=2, learning_rate=1e30)

    with pytest.raises(UserError, match="NaN/Inf") as info:
        quiet_train(diverging, out, resume=True)

    checkpoints = out / "checkpoints"
    assert (
        f"kept the last good checkpoint {checkpoints / 'last.npz'} (epoch 1) "
        f"and the best {checkpoints / 'best.npz'} (epoch 1); resume with a lower --learning-rate" in str(info.value)
    )
    assert saved_files(out) == before
    assert (out / "history.csv").read_bytes() == history, "a diverged epoch gets no row"


@needs_fashion_mnist
def test_interrupt_saves_progress_and_resume_reruns_the_epoch(one_epoch_run, run_copy, monkeypatch):
    class InterruptInEpochTwo(NonFiniteGuard):
        async_safe = False  # raise on the main thread, inside fit(), on every backend

        def on_train_batch_end(self, batch, logs=None):
            super().on_train_batch_end(batch, logs)
            if self.epoch == 1 and batch == 1:
                raise KeyboardInterrupt

    out, config = run_copy, one_epoch_run["config"]
    monkeypatch.setattr("utils.training.train.NonFiniteGuard", InterruptInEpochTwo)
    with pytest.raises(KeyboardInterrupt):
        quiet_train({**config, "training": {**config["training"], "epochs": 3}}, out, resume=True)
    monkeypatch.undo()

    # last.npz still counts one finished epoch but holds the weights of the two extra steps.
    interrupted = fresh_trainer(config)
    assert load_checkpoint(interrupted, out / "checkpoints" / "last.npz")["epoch"] == 1
    assert int(interrupted.g_optimizer.iterations) == int(interrupted.d_optimizer.iterations) == STEPS + 2
    assert not np.array_equal(np.asarray(interrupted.generator.weights[0]), one_epoch_run["generator"][0])
    assert [int(row["epoch"]) for row in read_rows(out / "history.csv")] == [1]
    assert not (out / "samples" / "epoch_0002.png").exists()

    gan, history = quiet_train({**config, "training": {**config["training"], "epochs": 2}}, out, resume=True)

    assert history.epoch == [1]
    assert [int(row["epoch"]) for row in read_rows(out / "history.csv")] == [1, 2]
    assert int(gan.g_optimizer.iterations) == STEPS + 2 + STEPS


@needs_fashion_mnist
def test_sigterm_stops_like_ctrl_c(one_epoch_run, run_copy, monkeypatch, capsys):
    """A pre-empted machine sends SIGTERM first: the run saves its weights and says how to resume."""

    class TerminateInEpochTwo(NonFiniteGuard):
        async_safe = False  # raise on the main thread, inside fit(), on every backend

        def on_train_batch_end(self, batch, logs=None):
            super().on_train_batch_end(batch, logs)
            if self.epoch == 1 and batch == 1:
                # Without main()'s handler SIGTERM would end pytest itself: fail the test instead.
                assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None), "no SIGTERM handler"
                os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr("utils.training.train.NonFiniteGuard", TerminateInEpochTwo)
    handler = signal.getsignal(signal.SIGTERM)

    code = cli.main(["resume", "--out", str(run_copy), "--epochs", "3"])

    assert code == 143
    stderr = capsys.readouterr().err
    assert "Traceback" not in stderr
    assert last_line(stderr) == f"terminated (SIGTERM); resume with: python dcgan.py resume --out {run_copy}"
    assert signal.getsignal(signal.SIGTERM) is handler, "main() must restore the SIGTERM handler"
    interrupted = fresh_trainer(one_epoch_run["config"])
    assert load_checkpoint(interrupted, run_copy / "checkpoints" / "last.npz")["epoch"] == 1
    assert int(interrupted.g_optimizer.iterations) == STEPS + 2


@needs_fashion_mnist
def test_resume_of_a_run_killed_before_its_first_checkpoint(one_epoch_run, run_copy):
    """A run killed in its first epoch has config.json but no checkpoint yet: resume starts it at epoch 0."""
    for path in (run_copy / "checkpoints").iterdir():
        path.unlink()
    messages = []

    gan, history = train(copy.deepcopy(one_epoch_run["config"]), run_copy, resume=True, verbose=0, log=messages.append)

    assert f"no checkpoint yet in {run_copy / 'checkpoints'}; starting from epoch 0 of 1" in messages
    assert history.epoch == [0]
    assert [int(row["epoch"]) for row in read_rows(run_copy / "history.csv")] == [1]
    assert int(gan.g_optimizer.iterations) == STEPS


@needs_fashion_mnist
def test_resume_from_a_damaged_checkpoint_points_to_best(one_epoch_run, run_copy):
    last = run_copy / "checkpoints" / "last.npz"
    last.write_bytes(last.read_bytes()[:1000])  # e.g. a disk that lost the end of the file

    with pytest.raises(UserError, match="cannot read checkpoint") as info:
        quiet_train(one_epoch_run["config"], run_copy, resume=True)

    assert f"{run_copy / 'checkpoints' / 'best.npz'} may still be good: copy it over last.npz" in str(info.value)


def test_checkpoint_restores_dropout_noise(tiny_model, tmp_path):
    """With Dropout in D, a resumed run draws the same dropout masks only if their seeds are in the checkpoint."""
    import tensorflow as tf

    from utils.training.checkpoint import save_checkpoint

    model = dataclasses.replace(tiny_model, d_dropout=0.5)
    batch = tf.random.uniform((8, 28, 28, 1), -1, 1, seed=1)
    trained = build_trainer(model, seed=0)
    trained.train_step(batch)
    save_checkpoint(trained, tmp_path / "last.npz", 1, sample_latent(4, model.latent_dim))
    resumed = [build_trainer(model, seed=seed) for seed in (5, 6)]  # different seeds everywhere but the checkpoint
    for gan in resumed:
        assert load_checkpoint(gan, tmp_path / "last.npz")["epoch"] == 1

    losses = [{key: float(value) for key, value in gan.train_step(batch).items()} for gan in resumed]

    assert losses[0] == losses[1]
    assert_same_values(resumed[0].discriminator.weights, resumed[1].discriminator.weights)
