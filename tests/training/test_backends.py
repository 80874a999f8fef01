"""Core training tests that hold on every Keras backend.

`make test` runs this file (marker `backends`) once more under KERAS_BACKEND=jax and, when PyTorch is installed, under torch
(the backend is fixed per process). Only Keras and NumPy are used here.
"""

import copy
import dataclasses
import math
import threading

import keras
import numpy as np
import pytest
from conftest import FASHION_MNIST_DIR

from utils.data.epochs import epoch_batches
from utils.errors import UserError
from utils.training.callbacks import NonFiniteGuard
from utils.training.checkpoint import load_checkpoint
from utils.training.train import build_trainer, train

BATCH = 16
# Train as users do (the default step, XLA-compiled on TensorFlow), on every Keras backend (make test).
pytestmark = [pytest.mark.usefixtures("xla"), pytest.mark.backends]


def uint8_images(count=64, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (count, 28, 28, 1), dtype=np.uint8)


def batches(images):
    """Endless (uint8 images,) batches in a fixed order, as `Data.epochs` yields them."""
    return epoch_batches(images, np.zeros(len(images), np.int64), 0, 0, BATCH, shuffle=False)


def forever(item):
    while True:
        yield item


def values(variables):
    return [np.array(keras.ops.convert_to_numpy(variable), dtype=np.float32) for variable in variables]


def test_the_backends_own_training_step_is_used():
    from utils.training.backends import DCGAN

    assert DCGAN.__module__ == f"utils.training.backends.{keras.backend.backend()}"


def test_fit_trains_both_networks(tiny_model):
    keras.utils.set_random_seed(0)
    gan = build_trainer(tiny_model)
    g_before, d_before = values(gan.generator.trainable_variables), values(gan.discriminator.trainable_variables)

    history = gan.fit(batches(uint8_images()), steps_per_epoch=3, epochs=1, verbose=0, shuffle=False)

    for before, variables in (
        (g_before, gan.generator.trainable_variables),
        (d_before, gan.discriminator.trainable_variables),
    ):
        assert all(not np.array_equal(old, new) for old, new in zip(before, values(variables), strict=True))
    logs = {key: value[-1] for key, value in history.history.items()}
    assert set(logs) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert all(math.isfinite(value) for value in logs.values()), logs
    assert 0 <= logs["d_real"] <= 1 and 0 <= logs["d_fake"] <= 1
    # Losses are true values: a fresh D scores everything near 0.5, so d_loss is near 2 log 2, not halved.
    assert 0.5 < logs["d_loss"] < 3.0
    assert int(gan.d_optimizer.iterations) == 3 and int(gan.g_optimizer.iterations) == 3


def test_uint8_batches_train_exactly_like_scaled_floats(tiny_model):
    images = uint8_images(32, seed=1)
    results = []
    for data in (images, (images.astype(np.float32) / 127.5 - 1.0)):
        keras.utils.set_random_seed(0)
        gan = build_trainer(tiny_model, seed=2)
        gan.fit(batches(data), steps_per_epoch=2, epochs=1, verbose=0, shuffle=False)
        results.append(values(gan.trainable_variables))
    for a, b in zip(*results, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_keeps_outputs_in_float32(tiny_model, precision):
    keras.utils.set_random_seed(0)
    gan = build_trainer(tiny_model, precision=precision)
    compute = precision.removeprefix("mixed_")
    assert gan.generator.get_layer("up1").compute_dtype == compute
    assert gan.generator.get_layer("tanh").compute_dtype == "float32"
    assert gan.discriminator.get_layer("logit").compute_dtype == "float32"
    assert all(v.dtype == "float32" for v in gan.trainable_variables), "weights stay float32"
    assert isinstance(gan.g_optimizer, keras.optimizers.LossScaleOptimizer) == (precision == "mixed_float16")
    assert keras.config.dtype_policy().name == "float32", "the global policy is restored after building"

    history = gan.fit(batches(uint8_images()), steps_per_epoch=2, epochs=1, verbose=0, shuffle=False)

    assert all(math.isfinite(values[-1]) for values in history.history.values())
    z = keras.random.normal((2, tiny_model.latent_dim))
    assert keras.backend.standardize_dtype(gan.generator(z).dtype) == "float32"


@pytest.mark.skipif(not FASHION_MNIST_DIR.is_dir(), reason="needs Debian's Fashion-MNIST IDX files")
def test_resumed_run_equals_an_uninterrupted_one(tiny_model, tmp_path):
    config = {
        "data": {"name": "fashion_mnist", "data_dir": None, "subset": 96, "image_size": 28, "channels": 1},
        "model": dataclasses.asdict(tiny_model),
        "training": {"epochs": 2, "batch_size": BATCH, "learning_rate": 2e-4, "beta_1": 0.5, "seed": 0},
        "command": "test",
    }
    quiet = {"verbose": 0, "log": lambda *_: None}
    train(copy.deepcopy(config), tmp_path / "straight", **quiet)
    first = copy.deepcopy(config)
    first["training"]["epochs"] = 1
    train(first, tmp_path / "resumed", **quiet)
    train(copy.deepcopy(config), tmp_path / "resumed", resume=True, **quiet)

    saved = [np.load(tmp_path / run / "checkpoints" / "last.npz") for run in ("straight", "resumed")]
    assert int(saved[0]["epoch"]) == int(saved[1]["epoch"]) == 2
    keys = sorted(saved[0].files)
    assert keys == sorted(saved[1].files)
    for key in keys:  # weights, both optimizers and the noise generators
        np.testing.assert_allclose(saved[1][key], saved[0][key], rtol=1e-5, atol=1e-6, err_msg=key)
    gan = build_trainer(tiny_model)
    assert load_checkpoint(gan, tmp_path / "resumed" / "checkpoints" / "last.npz")["epoch"] == 2


@pytest.mark.skipif(not FASHION_MNIST_DIR.is_dir(), reason="needs Debian's Fashion-MNIST IDX files")
def test_training_does_not_wait_for_each_steps_logs(tiny_model, tmp_path, monkeypatch):
    """On JAX and PyTorch, whose Keras runs batch callbacks on worker threads when all are async-safe, the
    training run's callbacks are: the main thread goes on to the next step without reading this one's logs.
    (TensorFlow's Keras reads them on the main thread after every step.)"""
    threads = []

    class RecordingGuard(NonFiniteGuard):
        def on_train_batch_end(self, batch, logs=None):
            threads.append(threading.current_thread() is threading.main_thread())
            super().on_train_batch_end(batch, logs)

    monkeypatch.setattr("utils.training.train.NonFiniteGuard", RecordingGuard)
    config = {
        "data": {"name": "fashion_mnist", "data_dir": None, "subset": 64, "image_size": 28, "channels": 1},
        "model": dataclasses.asdict(tiny_model),
        "training": {"epochs": 1, "batch_size": BATCH, "learning_rate": 2e-4, "beta_1": 0.5, "seed": 0},
        "command": "test",
    }
    train(config, tmp_path / "run", verbose=0, log=lambda *_: None)

    assert len(threads) == 4, "the guard sees every batch"
    if keras.backend.backend() != "tensorflow":
        assert not any(threads), "a batch's logs were read on the main thread"


@pytest.mark.skipif(not FASHION_MNIST_DIR.is_dir(), reason="needs Debian's Fashion-MNIST IDX files")
def test_several_steps_per_call_train_like_one_and_keep_to_each_epoch(tiny_model, tmp_path):
    """3 steps per call on 4 steps per epoch would run into the next epoch's batches; the run takes 2, and its
    weights are those of one step per call."""
    if keras.backend.backend() == "torch":
        pytest.skip("Keras' PyTorch backend runs one step per call (see the next test)")
    messages = []
    for steps in (1, 3):
        config = {
            "data": {"name": "fashion_mnist", "data_dir": None, "subset": 64, "image_size": 28, "channels": 1},
            "model": dataclasses.asdict(tiny_model),
            "training": {
                **{"epochs": 2, "batch_size": BATCH, "learning_rate": 2e-4, "beta_1": 0.5, "seed": 0},
                "steps_per_execution": steps,
            },
            "command": "test",
        }
        train(config, tmp_path / str(steps), verbose=0, log=messages.append)

    saved = [np.load(tmp_path / str(steps) / "checkpoints" / "last.npz") for steps in (1, 3)]
    assert sorted(saved[0].files) == sorted(saved[1].files)
    for key in saved[0].files:  # weights, both optimizers and the noise generators
        np.testing.assert_allclose(saved[1][key], saved[0][key], rtol=1e-5, atol=1e-6, err_msg=key)
    assert "2 steps per execution: the most up to 3 that divide the 4 steps of an epoch" in messages


@pytest.mark.skipif(keras.backend.backend() != "torch", reason="for Keras' PyTorch backend")
def test_pytorch_backend_refuses_several_steps_per_call(tiny_model):
    with pytest.raises(UserError, match="--steps-per-execution needs --backend tensorflow or jax"):
        build_trainer(tiny_model, steps_per_execution=2)


def test_nan_losses_stop_training_and_name_the_first_batch(tiny_model):
    keras.utils.set_random_seed(0)
    gan = build_trainer(tiny_model)
    guard = NonFiniteGuard()
    nan_images = np.full((BATCH, 28, 28, 1), np.nan, np.float32)

    history = gan.fit(forever((nan_images,)), steps_per_epoch=5, epochs=3, callbacks=[guard], verbose=0)

    assert guard.failure.startswith("epoch 1, batch 1: ") and "d_loss=nan" in guard.failure, guard.failure
    assert history.epoch == [0], "training stopped in its first epoch"


def test_generator_stream_is_consumed_in_order(tiny_model):
    """fit() takes the batches in the order the stream gives them, one per step (none skipped or repeated)."""
    seen = []

    def recording(stream):
        for batch in stream:
            seen.append(int(batch[0][0, 0, 0, 0]))
            yield batch

    images = np.repeat(np.arange(8, dtype=np.uint8), BATCH)[:, None, None, None] * np.ones((1, 28, 28, 1), np.uint8)
    keras.utils.set_random_seed(0)
    gan = build_trainer(tiny_model)
    gan.fit(recording(batches(images)), steps_per_epoch=4, epochs=1, verbose=0, shuffle=False)
    assert seen[:4] == [0, 1, 2, 3]


def test_reused_fakes_train_like_two_generator_passes_on_the_same_noise(tiny_model):
    """With one z for both updates, reusing the D step's images gives the weights of generating them twice;
    only G's BatchNorm statistics move once instead of twice."""
    z = np.random.default_rng(3).standard_normal((BATCH, tiny_model.latent_dim)).astype(np.float32)
    trained = {}
    for reuse in (False, True):
        keras.utils.set_random_seed(0)
        gan = build_trainer(tiny_model, reuse_fakes=reuse)
        gan.sample_latent = lambda batch_size: keras.ops.convert_to_tensor(z)
        gan.fit(batches(uint8_images(BATCH)), steps_per_epoch=1, epochs=1, verbose=0, shuffle=False)
        trained[reuse] = gan
    fresh, reused = trained[False], trained[True]

    for a, b in zip(values(fresh.trainable_variables), values(reused.trainable_variables), strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    for a, b in zip(*(values(gan.discriminator.non_trainable_variables) for gan in (fresh, reused)), strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    g_statistics = [values(gan.generator.non_trainable_variables) for gan in (fresh, reused)]
    assert g_statistics[0], "the tiny G has BatchNorm"
    assert any(not np.allclose(a, b) for a, b in zip(*g_statistics, strict=True))


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="one D call for both batches is the JAX step's")
def test_one_d_call_trains_like_two(tiny_model):
    """JAX calls D once on the real and generated batch (BatchNorm statistics per batch): the same weights and
    moving statistics as two calls; with dropout in D, whose masks must differ per call, it makes two."""
    trained = {}
    for one_call in (False, True):
        keras.utils.set_random_seed(0)
        gan = build_trainer(tiny_model)
        gan.one_d_call = one_call
        gan.fit(batches(uint8_images()), steps_per_epoch=3, epochs=1, verbose=0, shuffle=False)
        trained[one_call] = gan
    statistics = trained[True].discriminator.non_trainable_variables
    assert statistics, "the tiny D has BatchNorm"
    assert trained[True]._one_call_momenta() == [0.9] * len(statistics)
    assert trained[False]._one_call_momenta() is None
    for group in ("trainable_variables", "non_trainable_variables"):
        two, one = (values(getattr(gan, group)) for gan in (trained[False], trained[True]))
        for a, b in zip(two, one, strict=True):
            np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)

    # Not under a distribution: the stacked pair would not be sharded like the batch.
    with keras.distribution.DataParallel(devices=keras.distribution.list_devices()).scope():
        assert trained[True]._one_call_momenta() is None
    with_dropout = build_trainer(dataclasses.replace(tiny_model, d_dropout=0.3))
    with_dropout.one_d_call = True
    assert with_dropout._one_call_momenta() is None
