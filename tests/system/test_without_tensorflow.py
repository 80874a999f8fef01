"""GPU machines often have JAX or PyTorch but no TensorFlow: `dcgan.py train --backend jax` must not need it."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest
from conftest import FASHION_MNIST_DIR, ROOT

# Runs dcgan.py with every import of tensorflow failing, as on a machine where it is not installed.
BLOCKED_TENSORFLOW = """
import runpy, sys
class NoTensorFlow:
    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ModuleNotFoundError(f"No module named {name!r}")
sys.meta_path.insert(0, NoTensorFlow())
sys.argv = ["dcgan.py", *sys.argv[1:]]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
finally:
    print("TENSORFLOW_LOADED" if "tensorflow" in sys.modules else "TENSORFLOW_ABSENT")
"""


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
@pytest.mark.skipif(not FASHION_MNIST_DIR.is_dir(), reason="needs Debian's Fashion-MNIST IDX files")
def test_jax_training_runs_without_tensorflow(tmp_path):
    out = tmp_path / "run"
    flags = "--dataset fashion_mnist --subset 64 --g-width 8 --d-width 8 --kernel-size 3 --epochs 1 --batch-size 32"
    process = subprocess.run(
        [sys.executable, "-c", BLOCKED_TENSORFLOW, "train", "--backend", "jax", *flags.split(), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert process.returncode == 0, process.stderr[-3000:]
    assert process.stdout.strip().splitlines()[-1] == "TENSORFLOW_ABSENT"
    for name in ("generator.keras", "generator.h5", "discriminator.keras", "history.csv", "progress.gif"):
        assert (out / name).is_file(), name
    assert not (out / "logs").exists(), "TensorBoard logs need TensorFlow; they are skipped without it"
    config = json.loads((out / "config.json").read_text())
    assert config["training"]["backend"] == "jax" and "tensorflow" not in config["versions"]
