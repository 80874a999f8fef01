"""Shared test settings: TensorFlow backend on the CPU, quiet logs, and tiny models."""

import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest

ROOT = Path(__file__).resolve().parents[1]
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture
def tiny_model():
    """Settings of a small 28x28 grayscale DCGAN that trains in well under a second per step on a CPU."""
    from utils.config import ModelConfig

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


def last_line(text):
    """The last non-empty line of `text` ('' when there is none)."""
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""
