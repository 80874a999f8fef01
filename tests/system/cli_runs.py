"""Helpers for tests that run `dcgan.py` in subprocesses and interrupt them: start, watch, signal, check files."""

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from conftest import ROOT
from PIL import Image

# The settings of conftest's `tiny_model`, 16 steps per epoch, on CPU with deterministic ops.
TINY_RUN = ("--dataset", "fashion_mnist", "--image-size", 28, "--g-width", 8, "--d-width", 8, "--latent-dim", 8,
            "--kernel-size", 3, "--subset", 512, "--batch-size", 32, "--seed", 7, "--deterministic")  # fmt: skip
STEPS_PER_EPOCH = 512 // 32
WAIT_S = 600  # the longest any single wait may take before the test gives up (a loaded 2-core machine is slow)


def start(*args, env=None, script=ROOT / "dcgan.py"):
    """Start `python dcgan.py ARGS` (or another `script`) on the CPU; returns the `Popen` (text stdout and
    stderr in pipes)."""
    environment = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    return subprocess.Popen(
        [sys.executable, str(script), *map(str, args)],
        cwd=ROOT,
        env={**environment, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process, timeout=WAIT_S):
    """Wait for `process`; returns (exit code, stdout, stderr)."""
    stdout, stderr = process.communicate(timeout=timeout)
    return process.returncode, stdout, stderr


def wait_until(condition, process, timeout=WAIT_S, poll_s=0.01):
    """Poll `condition()` until it is true; fails if `process` ends first or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            _, stdout, stderr = finish(process)
            raise AssertionError(f"the run ended (exit {process.returncode}) first:\n{stdout}\n{stderr}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"timed out after {timeout} s waiting for {condition.__doc__ or condition}")
        time.sleep(poll_s)


def checkpoint_epoch(out, name="last"):
    """The epoch stored in `out/checkpoints/NAME.npz`, or 0 when there is none."""
    path = Path(out) / "checkpoints" / f"{name}.npz"
    try:
        with np.load(path) as saved:
            return int(saved["epoch"])
    except FileNotFoundError:
        return 0


def checkpoint_arrays(out, name="last"):
    """Every array of a checkpoint, by key."""
    with np.load(Path(out) / "checkpoints" / f"{name}.npz") as saved:
        return {key: saved[key] for key in saved.files}


def temporaries(folder):
    """Hidden temporary files (as `utils.files.atomic_path` names them) under `folder`."""
    from utils.files import TEMPORARY_NAME

    return sorted(path for path in Path(folder).rglob(".*") if TEMPORARY_NAME.match(path.name))


def history_epochs(out):
    """The epoch column of `out/history.csv` ([] when there is none)."""
    path = Path(out) / "history.csv"
    if not path.is_file():
        return []
    with open(path, newline="") as handle:
        return [int(row["epoch"]) for row in csv.DictReader(handle)]


def history_rows(out):
    with open(Path(out) / "history.csv", newline="") as handle:
        return [{key: float(value) for key, value in row.items()} for row in csv.DictReader(handle)]


def unreadable_files(out):
    """Every output file of a run folder that cannot be read back completely, with the reason.

    TensorBoard's append-only event logs and hidden temporary files are not outputs and are not checked.
    """
    from utils.training.saving import load_model

    problems = []
    for path in sorted(Path(out).rglob("*")):
        if not path.is_file() or "logs" in path.relative_to(out).parts or path.name.startswith("."):
            continue
        try:
            if path.suffix == ".npz":
                with np.load(path) as saved:
                    [saved[key] for key in saved.files]
            elif path.suffix in (".png", ".gif"):
                with Image.open(path) as image:
                    for frame in range(getattr(image, "n_frames", 1)):
                        image.seek(frame)
                        image.load()
            elif path.suffix == ".csv":
                with open(path, newline="") as handle:
                    rows = list(csv.DictReader(handle))
                assert all(None not in row and "" not in row.values() for row in rows), "incomplete row"
            elif path.suffix == ".json":
                json.loads(path.read_text())
            elif path.suffix in (".keras", ".h5"):
                load_model(path)
        except Exception as exc:
            problems.append(f"{path.relative_to(out)}: {type(exc).__name__}: {exc}")
    return problems
