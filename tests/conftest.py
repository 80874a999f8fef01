"""Shared test settings (TensorFlow backend on the CPU, quiet logs, tiny models), helpers, and the markers.

Markers (`pytest -m NAME`):
- `backends`: the core tests that hold on every Keras backend; `make test` runs them again under
  KERAS_BACKEND=jax and, when PyTorch is installed, torch.
- `system`: the slow end-to-end tests, every test under tests/system/ (marked here); `make test-fast` leaves
  them out.
"""

import contextlib
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# XLA compiles each tiny test model's step in 4-10 s on a CPU, more than the tests train: off here (also in the
# processes the tests start), on again where a test needs the default (the `xla` fixture).
os.environ.setdefault("DCGAN_XLA", "off")

import pytest

ROOT = Path(__file__).resolve().parents[1]
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")


SYSTEM = Path(__file__).resolve().parent / "system"


def pytest_configure(config):
    config.addinivalue_line("markers", "backends: core tests rerun on every Keras backend (JAX, PyTorch)")
    config.addinivalue_line("markers", "system: slow end-to-end tests (tests/system/); make test-fast skips them")


def pytest_collection_modifyitems(items):
    for item in items:
        if SYSTEM in Path(item.fspath).parents:
            item.add_marker(pytest.mark.system)


@pytest.fixture
def xla(monkeypatch):
    """The toolkit's default on TensorFlow: each training step compiled with XLA, also on a CPU."""
    monkeypatch.setenv("DCGAN_XLA", "auto")


@pytest.fixture
def tiny_model():
    """Settings of a small 28x28 grayscale DCGAN that trains in well under a second per step on a CPU."""
    from utils.training.config import ModelConfig

    return ModelConfig(image_size=28, channels=1, latent_dim=8, g_width=8, d_width=8, kernel_size=3)


def run_cli(*args, cwd=ROOT, timeout=300):
    """Run `python dcgan.py ARGS` in a subprocess; returns the CompletedProcess (text output)."""
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run(
        [sys.executable, str(ROOT / "dcgan.py"), *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@contextlib.contextmanager
def concurrent_cli(command, runs, cwd=ROOT, workers=3):
    """Start `dcgan.py COMMAND FLAGS` for every named run of `runs` at once (each spends ~8 s importing TensorFlow).

    Yields:
        A mapping whose `[name]` waits for that run and gives its CompletedProcess.
    """
    with concurrent(lambda *flags: run_cli(command, *flags, cwd=cwd), runs, workers) as results:
        yield results


@contextlib.contextmanager
def concurrent(run, runs, workers=3):
    """Start `run(*args)` for every named tuple of `args` in `runs` at once, in a pool of `workers` threads.

    Yields:
        A mapping whose `[name]` waits for that run and gives its result.
    """
    pool = ThreadPoolExecutor(max_workers=workers)
    futures = {name: pool.submit(run, *args) for name, args in runs.items()}

    class Results(dict):
        def __missing__(self, name):
            return futures[name].result()

    try:
        yield Results()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def last_line(text):
    """The last non-empty line of `text` ('' when there is none)."""
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""
