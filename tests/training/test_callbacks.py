"""utils.training.callbacks: the NaN/Inf guard under worker threads, TensorBoard with nothing per batch, no lost Ctrl-C."""

import math
import os
import signal
import threading
import types

import keras
import numpy as np
import pytest

from utils.data.epochs import epoch_batches
from utils.training.callbacks import EpochTensorBoard, NonFiniteGuard, StopCheck
from utils.training.interrupts import catch_stop_signals
from utils.training.train import build_trainer


def test_guard_names_the_first_bad_batch_whichever_thread_reports_first():
    guard = NonFiniteGuard()
    guard.set_model(types.SimpleNamespace(stop_training=False, steps_per_execution=1))
    finite = {"d_loss": 1.0, "g_loss": 2.0}
    reports = [(6, math.nan), (0, 1.0), (4, math.inf), (9, math.nan), (2, 3.0)]  # (batch, g_loss) out of order
    threads = [
        threading.Thread(target=guard.on_train_batch_end, args=(batch, {**finite, "g_loss": g_loss}))
        for batch, g_loss in reports
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert guard.model.stop_training
    assert guard.failure == "epoch 1, batch 5: d_loss=1, g_loss=inf"


def test_guard_names_the_batches_of_the_call_that_went_bad():
    """With several steps per call, Keras reports the logs after each call's last batch."""
    guard = NonFiniteGuard()
    guard.set_model(types.SimpleNamespace(stop_training=False, steps_per_execution=4))
    guard.on_epoch_begin(1)
    guard.on_train_batch_end(3, {"d_loss": 1.0, "g_loss": 2.0})
    guard.on_train_batch_end(7, {"d_loss": math.nan, "g_loss": 2.0})
    assert guard.failure == "epoch 2, batches 5-8: d_loss=nan, g_loss=2"


def test_guard_leaves_finite_training_alone():
    guard = NonFiniteGuard()
    guard.set_model(types.SimpleNamespace(stop_training=False, steps_per_execution=1))
    guard.on_epoch_begin(2)
    guard.on_train_batch_end(0, {"d_loss": 1.3, "g_loss": 0.7})
    assert guard.failure is None and not guard.model.stop_training


def test_epoch_tensorboard_writes_each_epoch_and_nothing_per_batch(tiny_model, tmp_path, monkeypatch):
    pytest.importorskip("tensorflow")
    callback = EpochTensorBoard(tmp_path)
    names = []
    scalar = callback.summary.scalar  # TensorFlow's summary module, as the callback imported it

    def recording(name, *args, **kwargs):
        names.append(name)
        return scalar(name, *args, **kwargs)

    monkeypatch.setattr(callback.summary, "scalar", recording)  # the callback looks it up on each call
    images = np.random.default_rng(0).integers(0, 256, (32, 28, 28, 1), dtype=np.uint8)
    gan = build_trainer(tiny_model)
    stream = epoch_batches(images, np.zeros(32, np.int64), 0, 0, 8, shuffle=False)

    gan.fit(stream, steps_per_epoch=4, epochs=2, callbacks=[callback], verbose=0, shuffle=False)

    assert sorted(names) == sorted(2 * ["epoch_d_loss", "epoch_g_loss", "epoch_d_real", "epoch_d_fake"])
    assert list((tmp_path / "train").glob("events.out.tfevents.*")), "no event file written"


def test_a_ctrl_c_swallowed_during_training_stops_it_at_the_next_batch(tiny_model):
    class SwallowCtrlC(keras.callbacks.Callback):
        """Ctrl-C lands where Python ignores its KeyboardInterrupt (a garbage-collection callback does)."""

        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:
                try:
                    os.kill(os.getpid(), signal.SIGINT)
                    signal.sigtimedwait([], 0.01)  # let the handler run
                except KeyboardInterrupt:
                    pass

    images = np.random.default_rng(0).integers(0, 256, (32, 28, 28, 1), dtype=np.uint8)
    gan = build_trainer(tiny_model)
    stream = epoch_batches(images, np.zeros(32, np.int64), 0, 0, 8, shuffle=False)
    before = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, also in a background job
    try:
        with catch_stop_signals(), pytest.raises(KeyboardInterrupt):
            gan.fit(stream, steps_per_epoch=4, epochs=2, callbacks=[SwallowCtrlC(), StopCheck()], verbose=0)
    finally:
        signal.signal(signal.SIGINT, before)
    assert int(gan.g_optimizer.iterations) == 2, "stopped before the third step"
