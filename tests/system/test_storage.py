"""Storage faults: a full disk or an output folder that turns unwritable in the middle of a run.

Root ignores file permissions, so the faults are injected: `open`, `os.open` or `os.replace` raise the
OSError the system would. Each run goes through `utils.cli.main`, as `python dcgan.py` does, in-process.
"""

import copy
import dataclasses
import errno
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from cli_runs import temporaries
from conftest import FASHION_MNIST_DIR, last_line

from utils import cli
from utils.errors import UserError
from utils.files import atomic_path, remove_temporaries
from utils.training.callbacks import NonFiniteGuard
from utils.training.config import ModelConfig
from utils.training.train import train

needs_fashion_mnist = pytest.mark.skipif(
    not FASHION_MNIST_DIR.is_dir(), reason=f"Fashion-MNIST IDX files not in {FASHION_MNIST_DIR}"
)


def full_disk_open(after_bytes):
    """A replacement for `open` whose files accept `after_bytes` bytes, then fail with ENOSPC."""
    real_open = open

    class FullFile:
        def __init__(self, handle):
            self.handle, self.written = handle, 0

        def write(self, data):
            if self.written + len(data) > after_bytes:
                self.handle.write(bytes(data)[: max(0, after_bytes - self.written)])
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            self.written += len(data)
            return self.handle.write(data)

        def __getattr__(self, name):
            return getattr(self.handle, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

    return lambda *args, **kwargs: FullFile(real_open(*args, **kwargs))


@pytest.fixture(scope="module")
def one_epoch_run(tmp_path_factory):
    """A finished one-epoch run of the tiny model, shared read-only (copy it with `run_copy`)."""
    if not FASHION_MNIST_DIR.is_dir():
        pytest.skip(f"Fashion-MNIST IDX files not in {FASHION_MNIST_DIR}")
    model = ModelConfig(image_size=28, channels=1, latent_dim=8, g_width=8, d_width=8, kernel_size=3)
    config = {
        "data": {"name": "fashion_mnist", "data_dir": None, "subset": 128, "image_size": 28, "channels": 1},
        "model": dataclasses.asdict(model),
        "training": {"epochs": 1, "batch_size": 32, "learning_rate": 2e-4, "beta_1": 0.5, "seed": 0},
    }
    folder = tmp_path_factory.mktemp("storage") / "run"
    train(copy.deepcopy(config), folder, verbose=0, log=lambda *_: None)
    return folder


@pytest.fixture
def run_copy(one_epoch_run, tmp_path):
    return Path(shutil.copytree(one_epoch_run, tmp_path / "run"))


def saved_bytes(out):
    """Bytes of everything a later failure must leave as it was."""
    names = ["checkpoints/last.npz", "checkpoints/best.npz", "samples/epoch_0001.png", "generator.keras"]
    return {name: (out / name).read_bytes() for name in names}


def resume(out, capsys, *flags):
    """`dcgan.py resume --out OUT --epochs 2 FLAGS` in-process; returns (exit code, stdout, stderr)."""
    code = cli.main(["resume", "--out", str(out), "--epochs", "2", *flags])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code, stderr, *fragments):
    assert code == 2
    assert "Traceback" not in stderr
    line = last_line(stderr)
    assert line.startswith("error: "), stderr
    for fragment in fragments:
        assert fragment in line, line


@needs_fashion_mnist
def test_full_disk_during_a_checkpoint_write(run_copy, capsys, monkeypatch):
    before = saved_bytes(run_copy)
    monkeypatch.setattr("utils.training.checkpoint.open", full_disk_open(after_bytes=5000), raising=False)

    code, _, stderr = resume(run_copy, capsys)

    assert_one_line_error(
        code, stderr, "cannot write checkpoint", "No space left on device", "(previous checkpoint kept)"
    )
    assert "/checkpoints/" in last_line(stderr)
    assert saved_bytes(run_copy) == before
    assert temporaries(run_copy) == []
    monkeypatch.undo()
    # The run goes on from the kept checkpoint once there is room again.
    code, stdout, stderr = resume(run_copy, capsys)
    assert code == 0, stderr
    assert "resuming from epoch 1 of 2" in stdout


@needs_fashion_mnist
def test_output_folder_turning_unwritable_during_training(run_copy, capsys, monkeypatch):
    before = saved_bytes(run_copy)
    history = (run_copy / "history.csv").read_bytes()
    real_open, locked = os.open, []

    def guarded_open(path, flags, *args, **kwargs):
        if locked and flags & os.O_CREAT and Path(path).resolve().is_relative_to(run_copy.resolve()):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, flags, *args, **kwargs)

    class LockAtEpochTwo(NonFiniteGuard):
        def on_epoch_begin(self, epoch, logs=None):
            super().on_epoch_begin(epoch, logs)
            locked.append(epoch)

    monkeypatch.setattr(os, "open", guarded_open)
    monkeypatch.setattr("utils.training.train.NonFiniteGuard", LockAtEpochTwo)

    code, _, stderr = resume(run_copy, capsys)

    assert_one_line_error(code, stderr, "cannot write", str(run_copy), "Permission denied")
    assert locked == [1]
    assert saved_bytes(run_copy) == before
    assert (run_copy / "history.csv").read_bytes() == history


@needs_fashion_mnist
def test_full_disk_while_saving_the_models(run_copy, capsys, monkeypatch):
    real_replace = os.replace

    def full_replace(source, target):
        if str(target).endswith("generator.keras"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_replace(source, target)

    monkeypatch.setattr(os, "replace", full_replace)
    old_model = (run_copy / "generator.keras").read_bytes()

    code, _, stderr = resume(run_copy, capsys)

    assert_one_line_error(code, stderr, "cannot write model", "generator.keras", "(previous model kept)")
    assert (run_copy / "generator.keras").read_bytes() == old_model
    with np.load(run_copy / "checkpoints" / "last.npz") as checkpoint:
        assert int(checkpoint["epoch"]) == 2  # the epoch itself was saved before the models
    assert temporaries(run_copy) == []
    monkeypatch.undo()
    code, stdout, stderr = resume(run_copy, capsys)
    assert code == 0, stderr
    assert "resuming from epoch 2 of 2" in stdout
    assert (run_copy / "generator.keras").read_bytes() != old_model


# --- atomic_path and the temporary files it leaves -------------------------------------------------


@pytest.mark.parametrize(
    ("number", "reason"), [(errno.ENOSPC, "No space left on device"), (errno.EACCES, "Permission denied")]
)
def test_atomic_path_turns_file_system_errors_into_one_line(tmp_path, number, reason):
    target = tmp_path / "history.csv"
    target.write_text("old")
    with pytest.raises(UserError) as caught, atomic_path(target) as tmp:
        tmp.write_text("half")
        raise OSError(number, os.strerror(number))
    assert str(caught.value) == f"cannot write file {target}: {reason} (previous file kept)"
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_atomic_path_says_when_nothing_was_written(tmp_path, monkeypatch):
    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("tempfile.mkstemp", no_space)
    message = r"cannot write checkpoint .*last\.npz: No space left on device \(nothing written\)"
    with pytest.raises(UserError, match=message), atomic_path(tmp_path / "last.npz", "checkpoint"):
        pass
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_lets_writer_errors_without_errno_through(tmp_path):
    with pytest.raises(OSError, match="cannot write mode"), atomic_path(tmp_path / "x.png"):
        raise OSError("cannot write mode CMYK as PNG")  # what Pillow raises: a bug, not a disk problem
    assert list(tmp_path.iterdir()) == []


def test_remove_temporaries_removes_only_what_atomic_path_leaves(tmp_path):
    (tmp_path / "samples").mkdir()
    left = [tmp_path / ".last.ab12_x9z.tmp.npz", tmp_path / "samples" / ".epoch_0003.q0w9e8r7.tmp.png"]
    kept = [tmp_path / ".hidden", tmp_path / "notes.tmp", tmp_path / ".last.npz", tmp_path / "last.npz"]
    for path in left + kept:
        path.write_text("x")

    assert remove_temporaries(tmp_path) == 2

    assert sorted(path for path in tmp_path.rglob("*") if path.is_file()) == sorted(kept)
