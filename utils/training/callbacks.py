"""Training callbacks: sample grids and GIF, history.csv and loss.png, checkpoints, the NaN/Inf guard, TensorBoard,
and the check that a Ctrl-C is never lost.

The per-batch ones (the guard, TensorBoard) are `async_safe`: on backends whose Keras says it is thread-safe
(JAX, PyTorch), `fit` then hands every batch's logs to a worker thread instead of waiting on the main one for
each step's results before it starts the next step. One callback that is not async-safe would make every
batch wait. `StopCheck` acts before each batch instead, which Keras calls on the main thread on every backend.
"""

import csv
import io
import math
import threading
from pathlib import Path

import keras

from utils.files import write_text
from utils.images import save_gif, save_grid
from utils.plots import plot_history
from utils.training.checkpoint import copy_checkpoint, save_checkpoint
from utils.training.interrupts import raise_pending_stop


def _finite(logs):
    return all(math.isfinite(float(value)) for value in (logs or {}).values())


class SampleGrid(keras.callbacks.Callback):
    """After every epoch, save G's images for a fixed batch of noise and refresh the progress GIF.

    Args:
        fixed_noise: (N, latent_dim) array, the same every epoch so the grids are comparable.
        folder: where `epoch_0001.png`, ... go.
        gif_path: the animated GIF of all grids so far.
    """

    def __init__(self, fixed_noise, folder, gif_path):
        super().__init__()
        self.fixed_noise = fixed_noise
        self.folder = Path(folder)
        self.gif_path = Path(gif_path)

    def on_epoch_end(self, epoch, logs=None):
        if not _finite(logs):
            return
        images = self.model.generator(self.fixed_noise, training=False)
        save_grid(keras.ops.convert_to_numpy(images), self.folder / f"epoch_{epoch + 1:04d}.png")
        save_gif(sorted(self.folder.glob("epoch_*.png")), self.gif_path)


class History(keras.callbacks.Callback):
    """Keep `history.csv` (one row per finite epoch, exactly once, across resumes) and redraw `loss.png`.

    Put it before `Checkpoint`: a run killed between the two then resumes from the previous checkpoint and
    rewrites the row, whereas the other order would lose the row of an epoch whose checkpoint was written.

    Args:
        csv_path: the CSV file.
        plot_path: the loss-curve PNG.
        start_epoch: epochs already done; rows after it (from an interrupted run) are dropped.
    """

    def __init__(self, csv_path, plot_path, start_epoch=0):
        super().__init__()
        self.csv_path = Path(csv_path)
        self.plot_path = Path(plot_path)
        self.rows = [row for row in read_history(self.csv_path) if int(row["epoch"]) <= start_epoch]

    def on_epoch_end(self, epoch, logs=None):
        if not _finite(logs):
            return
        self.rows.append({"epoch": epoch + 1, **{key: float(value) for key, value in (logs or {}).items()}})
        fields = list(dict.fromkeys(key for row in self.rows for key in row))
        text = io.StringIO()
        writer = csv.DictWriter(text, fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        write_text(self.csv_path, text.getvalue())
        plot_history(self.rows, self.plot_path)


def read_history(path):
    """Rows of a history.csv as dicts of floats (epoch as int); [] when the file is missing."""
    path = Path(path)
    if not path.is_file():
        return []
    with open(path, newline="") as handle:
        return [
            {k: (int(v) if k == "epoch" else float(v)) for k, v in row.items() if v != ""}
            for row in csv.DictReader(handle)
        ]


class Checkpoint(keras.callbacks.Callback):
    """After every epoch with finite losses, write `last.npz`, and `best.npz` when `monitor` improves.

    `best.npz` is written first and then copied to `last.npz`: a run killed between the two writes resumes
    from the previous `last.npz`, re-runs the epoch and writes `best.npz` again, so it is never stale.

    Args:
        folder: the checkpoints folder.
        fixed_noise: stored with every checkpoint so a resumed run draws the same grids.
        monitor: the logged value that decides "best" (lower is better).
        best: the best value reached before this run (when resuming).
        epochs_done: epochs completed before this run (when resuming).
    """

    def __init__(self, folder, fixed_noise, monitor="g_loss", best=math.inf, epochs_done=0):
        super().__init__()
        self.folder = Path(folder)
        self.fixed_noise = fixed_noise
        self.monitor = monitor
        self.best = best
        self.epochs_done = epochs_done

    def save_now(self):
        """Checkpoint the current weights as `last.npz` without counting the running epoch as done."""
        save_checkpoint(self.model, self.folder / "last.npz", self.epochs_done, self.fixed_noise, best=self.best)

    def on_epoch_end(self, epoch, logs=None):
        if not _finite(logs):
            return
        value = float(logs.get(self.monitor, math.inf))
        improved = value < self.best
        last, best = self.folder / "last.npz", self.folder / "best.npz"
        state = {"best": min(value, self.best), "monitor_value": value}
        save_checkpoint(self.model, best if improved else last, epoch + 1, self.fixed_noise, **state)
        if improved:
            copy_checkpoint(best, last)
        # Only now, with both files written: an interrupted write must leave these at the previous epoch.
        self.best, self.epochs_done = state["best"], epoch + 1


class NonFiniteGuard(keras.callbacks.Callback):
    """Stop training at the first batch whose logged losses are NaN or Inf, and remember where.

    Async-safe: on JAX and PyTorch it reads each batch's logs on Keras's worker threads, so training stops a
    few steps after the first bad one (the logs are running means: once NaN, NaN to the end of the epoch),
    and `failure` names the first bad batch. With several steps per call (`steps_per_execution`), Keras reports
    once per call, and `failure` names that call's batches.
    """

    async_safe = True  # read by Keras 3.15.1's private CallbackList (tests/training/test_private_api.py)

    def __init__(self):
        super().__init__()
        self.epoch = 0
        self.failure = None
        self._first = None  # (epoch, batch) of `failure`
        self._lock = threading.Lock()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if _finite(logs):
            return
        values = ", ".join(f"{key}={float(value):.4g}" for key, value in logs.items())
        with self._lock:  # worker threads may report batches out of order
            if self._first is None or (self.epoch, batch) < self._first:
                self._first = (self.epoch, batch)
                self.failure = f"epoch {self.epoch + 1}, {_batches(batch, self.model.steps_per_execution)}: {values}"
        self.model.stop_training = True


def _batches(batch, steps_per_execution):
    """The batches (1-based) of the call of the compiled step that ended with 0-based `batch`."""
    if steps_per_execution == 1:
        return f"batch {batch + 1}"
    return f"batches {batch + 2 - steps_per_execution}-{batch + 1}"


class StopCheck(keras.callbacks.Callback):
    """End training at the next batch or epoch end when a Ctrl-C or SIGTERM was swallowed on its way to `fit`
    (see `utils.training.interrupts.raise_pending_stop`); runs on the main thread on every backend."""

    def on_train_batch_begin(self, batch, logs=None):
        raise_pending_stop()

    def on_epoch_end(self, epoch, logs=None):
        raise_pending_stop()


class EpochTensorBoard(keras.callbacks.TensorBoard):
    """Keras's TensorBoard callback writing per-epoch summaries only, with nothing to do per batch.

    Keras's own calls `tf.summary.scalar` for every logged value after every batch, even with
    `update_freq="epoch"`, where no writer records them, and it is not async-safe, so on JAX every step also
    waited for the previous one. With a synchronous guard it cost 3.5 ms per step on JAX and 1.4 ms on
    TensorFlow (2-core CPU, small model, benchmarks/RESULTS.md). Profiling (`profile_batch`) and batch-level
    summaries are not available here.

    Args:
        log_dir: where the event files go.
        **kwargs: as `keras.callbacks.TensorBoard`, except `update_freq` and `profile_batch`.
    """

    async_safe = True  # read by Keras 3.15.1's private CallbackList (tests/training/test_private_api.py)

    def __init__(self, log_dir, **kwargs):
        super().__init__(log_dir, update_freq="epoch", profile_batch=0, **kwargs)

    def on_train_batch_begin(self, batch, logs=None):
        pass

    def on_train_batch_end(self, batch, logs=None):
        pass

    def _collect_learning_rate(self, logs):  # private in Keras 3.15.1
        """No "learning_rate" scalar: Keras would log the rate of `model.optimizer`, which the trainer leaves at
        Keras's unused default (0.001); D's and G's optimizers have their own (in the run's config.json)."""
        return logs
