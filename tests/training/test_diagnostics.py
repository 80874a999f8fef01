"""Training diagnostics: the diversity measure, saturation and collapse warnings, diversity in history.csv."""

import numpy as np
import pytest

from utils.training.callbacks import History, read_history
from utils.training.diagnostics import Diagnostics, mean_pairwise_distance
from utils.training.models import build_generator
from utils.training.samples import sample_latent


def test_mean_pairwise_distance_by_hand():
    assert mean_pairwise_distance(np.array([[0.0, 0.0], [1.0, 1.0]])) == pytest.approx(1.0)
    # One-pixel images 0, 1 and 3: pair distances 1, 3 and 2.
    assert mean_pairwise_distance(np.array([[0.0], [1.0], [3.0]])) == pytest.approx(2.0)
    # RMS over pixels: images differing by 2 in one of four pixels are sqrt(4 / 4) = 1 apart.
    assert mean_pairwise_distance(np.array([[0.0, 0, 0, 0], [2.0, 0, 0, 0]])) == pytest.approx(1.0)
    assert mean_pairwise_distance(np.ones((5, 3, 3, 1))) == 0.0
    with pytest.raises(ValueError):
        mean_pairwise_distance(np.ones((1, 4)))


def _callback(tiny_model, **kwargs):
    messages = []
    generator = build_generator(tiny_model)
    noise = sample_latent(16, tiny_model.latent_dim, seed=0)
    callback = Diagnostics(noise, log=messages.append, generator=generator, **kwargs)
    return callback, generator, messages


def _epochs(callback, scores, start=0):
    """Feed fabricated per-epoch logs (d_real, d_fake); returns the logs dicts."""
    logged = []
    for epoch, (real, fake) in enumerate(scores, start=start):
        logs = {"d_loss": 0.1, "g_loss": 5.0, "d_real": real, "d_fake": fake}
        callback.on_epoch_end(epoch, logs)
        logged.append(logs)
    return logged


def test_saturation_warns_once_after_patience_epochs(tiny_model):
    callback, _, messages = _callback(tiny_model, patience=2)
    _epochs(callback, [(0.97, 0.03)])
    assert messages == []  # one saturated epoch is not yet a warning
    _epochs(callback, [(0.99, 0.01), (0.99, 0.01)], start=1)
    assert len(messages) == 1
    assert messages[0].startswith("warning: D saturates at epoch 2")
    _epochs(callback, [(0.80, 0.20), (0.99, 0.01)], start=3)
    assert len(messages) == 1  # the streak was broken and has not reached patience again
    _epochs(callback, [(0.99, 0.01)], start=5)
    assert len(messages) == 2 and "epoch 6" in messages[1]


def test_saturation_thresholds_and_missing_scores(tiny_model):
    callback, _, messages = _callback(tiny_model, real_above=0.8, fake_below=0.2, patience=1)
    _epochs(callback, [(0.96, 0.30)])  # D(G(z)) above the threshold: not saturated
    assert messages == []
    _epochs(callback, [(0.85, 0.10)], start=1)
    assert len(messages) == 1 and "0.850 > 0.8" in messages[0]
    callback.on_epoch_end(2, {"d_loss": 0.1})  # no D outputs logged: nothing to check, no error
    assert len(messages) == 1


def test_diversity_is_logged_and_a_healthy_generator_gives_no_warning(tiny_model):
    callback, generator, messages = _callback(tiny_model)
    logged = _epochs(callback, [(0.6, 0.4)] * 3)
    expected = mean_pairwise_distance(np.asarray(generator(callback.fixed_noise, training=False)))
    assert expected > 0
    assert [logs["diversity"] for logs in logged] == pytest.approx([expected] * 3)
    assert messages == []


def _collapse(generator):
    """Zero G's output layer: tanh(0) for every z, the same image whatever the noise."""
    layer = generator.get_layer("to_image")
    saved = layer.get_weights()
    layer.set_weights([np.zeros_like(weight) for weight in saved])
    return saved


def test_collapsed_generator_is_reported_once_per_episode(tiny_model):
    callback, generator, messages = _callback(tiny_model, collapse_fraction=0.3)
    _epochs(callback, [(0.6, 0.4)])  # first epoch: the reference diversity
    saved = _collapse(generator)
    logged = _epochs(callback, [(0.6, 0.4), (0.6, 0.4)], start=1)
    assert logged[0]["diversity"] == 0.0
    assert len(messages) == 1
    assert messages[0].startswith("warning: generator collapse at epoch 2")
    generator.get_layer("to_image").set_weights(saved)  # recovers: the warning is re-armed
    _epochs(callback, [(0.6, 0.4)], start=3)
    assert len(messages) == 1
    _collapse(generator)
    _epochs(callback, [(0.6, 0.4)], start=4)
    assert len(messages) == 2 and "epoch 5" in messages[1]


def test_collapse_is_measured_against_the_highest_diversity_so_far(tiny_model):
    callback, generator, messages = _callback(tiny_model)
    layer = generator.get_layer("to_image")
    kernel, bias = layer.get_weights()
    first = _epochs(callback, [(0.6, 0.4)])[0]["diversity"]
    layer.set_weights([kernel * 10, bias])  # G grows ~10x more diverse (tanh is still nearly linear)
    peak = _epochs(callback, [(0.6, 0.4)], start=1)[0]["diversity"]
    assert peak > 5 * first and messages == []
    layer.set_weights([kernel, bias])  # back to the first epoch's diversity: under 0.3 of the peak
    _epochs(callback, [(0.6, 0.4)], start=2)
    assert len(messages) == 1 and f"0.3 x {peak:.4f}" in messages[0]


def test_given_reference_diversity_is_used_from_the_first_epoch(tiny_model):
    callback, _, messages = _callback(tiny_model, reference_diversity=1e6)
    _epochs(callback, [(0.6, 0.4)])
    assert len(messages) == 1 and "generator collapse at epoch 1" in messages[0]


def test_bad_settings_are_refused(tiny_model):
    noise = sample_latent(4, tiny_model.latent_dim)
    with pytest.raises(ValueError):
        Diagnostics(noise[:1])
    with pytest.raises(ValueError):
        Diagnostics(noise, patience=0)
    with pytest.raises(ValueError):
        Diagnostics(noise, collapse_fraction=1.5)


def test_diversity_reaches_history_csv_during_fit(tiny_model, tmp_path):
    from utils.training.train import build_trainer

    gan = build_trainer(tiny_model)
    gan.run_eagerly = True  # 4 steps: tracing the step would cost more than running it
    images = np.random.default_rng(0).uniform(-1, 1, (16, 28, 28, 1)).astype(np.float32)
    messages = []
    noise = sample_latent(8, tiny_model.latent_dim)
    callbacks = [Diagnostics(noise, log=messages.append), History(tmp_path / "history.csv", tmp_path / "loss.png")]
    history = gan.fit(images, batch_size=8, epochs=2, callbacks=callbacks, verbose=0)
    rows = read_history(tmp_path / "history.csv")
    assert [row["epoch"] for row in rows] == [1, 2]
    assert all(row["diversity"] > 0 for row in rows)
    assert history.history["diversity"] == pytest.approx([row["diversity"] for row in rows])
