"""Training checkpoints: a complete save and restore of G, D, both optimizers and the noise generator."""

import dataclasses
import zipfile

import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from utils.errors import UserError
from utils.training.checkpoint import load_checkpoint, save_checkpoint
from utils.training.config import ModelConfig
from utils.training.train import build_trainer


def values(variables):
    return [ops.convert_to_numpy(variable).copy() for variable in variables]


def snapshot(gan):
    """Every value a checkpoint must restore, by group."""
    return {
        "generator": values(gan.generator.weights),
        "discriminator": values(gan.discriminator.weights),
        "g_optimizer": values(gan.g_optimizer.variables),
        "d_optimizer": values(gan.d_optimizer.variables),
        "rng": values([gan.seed_generator.state]),
    }


def assert_same(first, second):
    for group in first:
        assert len(first[group]) == len(second[group]), group
        for a, b in zip(first[group], second[group], strict=True):
            np.testing.assert_array_equal(a, b, err_msg=group)


def differs(first, second, group):
    return any(not np.array_equal(a, b) for a, b in zip(first[group], second[group], strict=True))


def trained(model, seed=0):
    """A compiled trainer after one eager training step on a random batch."""
    gan = build_trainer(model, seed=seed)
    gan.train_step(tf.random.uniform((8, 28, 28, 1), -1, 1, seed=seed))
    return gan


@dataclasses.dataclass
class Saved:
    gan: object  # the trained trainer; tests must not train it further
    model: ModelConfig
    path: object
    noise: np.ndarray
    values: dict  # snapshot(gan) at save time


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """One trained step of the tiny DCGAN (the `tiny_model` settings), saved once for the whole module."""
    model = ModelConfig(image_size=28, channels=1, latent_dim=8, g_width=8, d_width=8, kernel_size=3)
    gan = trained(model)
    noise = np.random.default_rng(3).standard_normal((16, model.latent_dim)).astype(np.float32)
    path = tmp_path_factory.mktemp("run") / "checkpoints" / "last.npz"
    save_checkpoint(gan, path, 3, noise, best=1.25)
    return Saved(gan, model, path, noise, snapshot(gan))


def test_fixture_model_is_the_tiny_model(checkpoint, tiny_model):
    assert checkpoint.model == tiny_model


def test_round_trip_restores_everything(checkpoint):
    saved = checkpoint.values
    fresh = build_trainer(checkpoint.model, seed=1)
    before = snapshot(fresh)
    # The trained model really is different from a fresh one in every group, so the test can fail.
    for group in saved:
        assert differs(saved, before, group), group
    state = load_checkpoint(fresh, checkpoint.path)
    assert_same(snapshot(fresh), saved)
    assert state["epoch"] == 3 and isinstance(state["epoch"], int)
    np.testing.assert_array_equal(state["fixed_noise"], checkpoint.noise)
    assert float(state["best"]) == 1.25
    assert set(state) == {"epoch", "fixed_noise", "best"}
    # The optimizers step on from where they were.
    assert int(fresh.g_optimizer.iterations) == int(checkpoint.gan.g_optimizer.iterations) == 1
    assert int(fresh.d_optimizer.iterations) == 1


def test_restored_trainers_continue_identically(checkpoint):
    # Built with different seeds: only the restored noise generator makes their next steps agree.
    first, second = build_trainer(checkpoint.model, seed=7), build_trainer(checkpoint.model, seed=8)
    for gan in (first, second):
        load_checkpoint(gan, checkpoint.path)
    batch = tf.random.uniform((8, 28, 28, 1), -1, 1, seed=11)
    losses = [{k: float(v) for k, v in gan.train_step(batch).items()} for gan in (first, second)]
    assert losses[0] == losses[1]
    assert_same(snapshot(first), snapshot(second))
    assert differs(snapshot(first), checkpoint.values, "generator")


def test_checkpoint_file_is_an_npz_with_named_groups(checkpoint):
    gan, path = checkpoint.gan, checkpoint.path
    assert zipfile.is_zipfile(path)
    with np.load(path) as data:
        keys = set(data.files)
    assert {"epoch", "fixed_noise", "best", "generator/0000", "discriminator/0000", "rng/0000"} <= keys
    assert sum(key.startswith("generator/") for key in keys) == len(gan.generator.weights)
    assert sum(key.startswith("g_optimizer/") for key in keys) == len(gan.g_optimizer.variables)
    assert [p.name for p in path.parent.iterdir()] == ["last.npz"]  # no temporary file left behind


def test_save_overwrites_the_previous_checkpoint(checkpoint, tmp_path):
    path = tmp_path / "last.npz"
    path.write_bytes(checkpoint.path.read_bytes())
    gan = build_trainer(checkpoint.model)
    load_checkpoint(gan, path)
    gan.train_step(tf.random.uniform((8, 28, 28, 1), -1, 1, seed=5))
    save_checkpoint(gan, path, 4, checkpoint.noise)
    fresh = build_trainer(checkpoint.model)
    state = load_checkpoint(fresh, path)
    assert state["epoch"] == 4 and "best" not in state
    assert int(fresh.g_optimizer.iterations) == 2
    assert_same(snapshot(fresh), snapshot(gan))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.npz"]


@pytest.mark.parametrize(
    "change",
    [{"g_width": 16}, {"d_width": 4}, {"latent_dim": 9}, {"kernel_size": 5}, {"g_batchnorm": False}],
    ids=["g_width", "d_width", "latent_dim", "kernel_size", "g_batchnorm"],
)
def test_checkpoint_of_a_different_architecture(checkpoint, change):
    other = build_trainer(dataclasses.replace(checkpoint.model, **change))
    with pytest.raises(UserError, match="does not match the model"):
        load_checkpoint(other, checkpoint.path)


def test_checkpoint_of_a_different_image_size(checkpoint):
    other = build_trainer(dataclasses.replace(checkpoint.model, image_size=32))
    with pytest.raises(UserError, match="does not match the model"):
        load_checkpoint(other, checkpoint.path)


@pytest.mark.parametrize(
    "contents",
    [b"", b"this is not a checkpoint\n", b"\x93NUMPY garbage"],
    ids=["empty", "text", "bad-npy"],
)
def test_unreadable_file(tmp_path, tiny_model, contents):
    path = tmp_path / "bad.npz"
    path.write_bytes(contents)
    with pytest.raises(UserError, match="cannot read checkpoint"):
        load_checkpoint(build_trainer(tiny_model), path)


def test_truncated_file(checkpoint, tiny_model, tmp_path):
    data = checkpoint.path.read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="cannot read checkpoint"):
        load_checkpoint(build_trainer(tiny_model), cut)


def test_missing_file(tmp_path, tiny_model):
    with pytest.raises(UserError, match="cannot read checkpoint"):
        load_checkpoint(build_trainer(tiny_model), tmp_path / "none.npz")
